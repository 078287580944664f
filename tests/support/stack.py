"""Test infrastructure: one embedded PostgreSQL per run, migrated databases,
in-process apps with a rolled-back transaction per test, and real service
processes (and nginx) for cross-service and gateway tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from otog_devstack.postgres import asyncpg_url, ensure_databases, plain_url, with_database
from otog_devstack.processes import ServiceProcess
from otog_devstack.stack import SERVICES, ServiceSpec
from otog_shared.db import get_db_session
from sqlalchemy.ext.asyncio import AsyncSession

SPECS: dict[str, ServiceSpec] = {s.name: s for s in SERVICES}


@dataclass
class Databases:
    server_url: str
    # Databases that in-process tests use inside rolled-back transactions.
    urls: dict[str, str] = field(default_factory=dict)
    # Databases that service processes commit to (cross-service and e2e tests).
    live_urls: dict[str, str] = field(default_factory=dict)


def prepare_databases(server_url: str) -> Databases:
    from otog_shared.migrations import upgrade

    dbs = Databases(server_url)
    names: list[str] = []
    for spec in SERVICES:
        db = f"test_{spec.database}"
        live = f"test_{spec.database}_live"
        names += [db, live]
        dbs.urls[spec.name] = asyncpg_url(with_database(server_url, db))
        dbs.live_urls[spec.name] = asyncpg_url(with_database(server_url, live))
    ensure_databases(server_url, names, recreate=True)
    for spec in SERVICES:
        upgrade(spec.package, dbs.urls[spec.name])
        upgrade(spec.package, dbs.live_urls[spec.name])
    return dbs


def service_env(
    name: str, db_url: str, *, data_dir: Path, registry_url: str | None
) -> dict[str, str]:
    prefix = SPECS[name].env_prefix
    env = {
        f"{prefix}_DATABASE_URL": db_url,
        f"{prefix}_DATA_DIR": str(data_dir),
        f"{prefix}_LOG_LEVEL": "WARNING",
    }
    if registry_url:
        env[f"{prefix}_JWKS_URL"] = f"{registry_url}/v1/.well-known/jwks.json"
        env[f"{prefix}_REGISTRY_URL"] = registry_url
    return env


def start_service(
    name: str,
    db_url: str,
    *,
    port: int,
    data_dir: Path,
    log_dir: Path,
    registry_url: str | None = None,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
) -> ServiceProcess:
    """Start a real service process and wait until it answers readiness."""
    env = service_env(name, db_url, data_dir=data_dir, registry_url=registry_url)
    env.update(extra_env or {})
    proc = ServiceProcess(
        name,
        SPECS[name].factory,
        port,
        env=env,
        workers=workers,
        log_path=log_dir / f"{name}-{port}.log",
    )
    proc.start()
    try:
        proc.wait_ready()
    except Exception:
        proc.stop()
        raise
    return proc


@asynccontextmanager
async def app_client(
    app: FastAPI, base_url: str = "http://testserver"
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncSession]]:
    """An HTTP client on the in-process app whose requests all run inside one
    outer transaction that is rolled back afterwards. The endpoint's own
    commit still happens (it releases a savepoint), so the code under test
    behaves as in production."""
    engine = app.state.engine
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(
            bind=conn,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )

        async def override() -> AsyncIterator[AsyncSession]:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            else:
                await session.commit()

        app.dependency_overrides[get_db_session] = override
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        try:
            async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
                yield client, session
        finally:
            app.dependency_overrides.pop(get_db_session, None)
            await session.close()
            await outer.rollback()


async def truncate_all(db_url: str, keep: tuple[str, ...] = ("alembic_version",)) -> None:
    """Empty every table of a live database (between tests that commit)."""
    conn = await asyncpg.connect(plain_url(db_url))
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        names = [f'"{t["tablename"]}"' for t in tables if t["tablename"] not in keep]
        if names:
            await conn.execute(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false")


Json = dict[str, Any]
