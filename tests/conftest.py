"""Fixtures shared by every test: see tests/support/stack.py for the approach."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from otog_devstack.postgres import EmbeddedPostgres, free_port
from otog_devstack.processes import ServiceProcess
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.gateway import FUNCTIONAL_LIMITS, wait_for_gateway
from tests.support.stack import Databases, app_client, prepare_databases, start_service
from tests.support.tokens import TokenFactory


def pytest_configure(config: pytest.Config) -> None:
    # Scheduled jobs would change committed test data at arbitrary moments (cancel a
    # session a test just created past its cut-off). tests/scheduler runs schedulers
    # of its own; the services started by other tests run none.
    for prefix in ("REGISTRY", "TRAINING", "LOANS"):
        os.environ.setdefault(f"{prefix}_SCHEDULER_ENABLED", "false")
    # pytest keeps only the three newest numbered temp dirs per user, so two runs at
    # once (two checkouts on one machine) would delete each other's PostgreSQL data.
    if not config.option.basetemp:
        import tempfile

        config.option.basetemp = tempfile.mkdtemp(prefix="otog-tests-")
        config._otog_basetemp = config.option.basetemp  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    import shutil

    made = getattr(config, "_otog_basetemp", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server for the run: OTOG_TEST_DATABASE_URL, or an embedded one."""
    external = os.environ.get("OTOG_TEST_DATABASE_URL")
    if external:
        yield external
        return
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", free_port(), fast=True)
    pg.start()
    try:
        yield pg.url
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def databases(pg_server_url: str) -> Databases:
    return prepare_databases(pg_server_url)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def tokens(data_dir: Path) -> TokenFactory:
    """Mints tokens with the registry's signing key (same file as the live registry)."""
    return TokenFactory(data_dir / "jwt-signing-key.pem")


@pytest.fixture(scope="session")
def live_ports() -> dict[str, int]:
    """Ports of the live training and loan-ledger processes, chosen before the registry
    starts so that it knows where to collect their events from."""
    return {"training": free_port(), "loan-ledger": free_port()}


@pytest.fixture(scope="session")
def object_store_env(
    tmp_path_factory: pytest.TempPathFactory, log_dir: Path
) -> Iterator[dict[str, str]]:
    """S3-compatible storage for the live registry's photos: OBJECT_STORE_URL (and its
    credentials) from the environment, or an embedded SeaweedFS for the run."""
    if os.environ.get("OBJECT_STORE_URL"):
        yield {k: v for k, v in os.environ.items() if k.startswith("OBJECT_STORE_")}
        return
    from otog_devstack.seaweedfs import SeaweedFS

    store = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    store.start(log_dir / "seaweedfs.log")
    try:
        yield store.env()
    finally:
        store.stop()


@pytest.fixture(scope="session")
def live_registry(
    databases: Databases,
    data_dir: Path,
    log_dir: Path,
    live_ports: dict[str, int],
    object_store_env: dict[str, str],
) -> Iterator[ServiceProcess]:
    """A real registry process on its own (committing) database."""
    proc = start_service(
        "registry",
        databases.live_urls["registry"],
        port=free_port(),
        data_dir=data_dir,
        log_dir=log_dir,
        extra_env={
            "REGISTRY_TRAINING_URL": f"http://127.0.0.1:{live_ports['training']}",
            "REGISTRY_LOANS_URL": f"http://127.0.0.1:{live_ports['loan-ledger']}",
            **object_store_env,
        },
    )
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def service_client_env(databases: Databases) -> dict[str, dict[str, str]]:
    """Env vars giving training and the loan ledger their own registry credentials
    (clients created in the live registry's database)."""
    import asyncio

    from otog_registry.cli import _create

    env: dict[str, dict[str, str]] = {}
    for name, prefix in (("training", "TRAINING"), ("loan-ledger", "LOANS")):
        creds = asyncio.run(
            _create(databases.live_urls["registry"], f"{name} service", ["registry:read"], None)
        )
        env[name] = {
            f"{prefix}_REGISTRY_CLIENT_ID": creds["client_id"],
            f"{prefix}_REGISTRY_CLIENT_SECRET": creds["client_secret"],
        }
    return env


@pytest.fixture(scope="session")
def service_processes(
    request: pytest.FixtureRequest,
    databases: Databases,
    service_client_env: dict[str, dict[str, str]],
    data_dir: Path,
    log_dir: Path,
) -> Iterator[Callable[..., ServiceProcess]]:
    """Starts (once per run) a service as real processes with several uvicorn workers on
    its committing database, for tests of what must hold across processes."""
    started: dict[tuple[str, int], ServiceProcess] = {}

    def start(name: str, workers: int = 3) -> ServiceProcess:
        if (name, workers) not in started:
            registry_url = None
            if name != "registry":
                registry_url = request.getfixturevalue("live_registry").base_url
            started[name, workers] = start_service(
                name,
                databases.live_urls[name],
                port=free_port(),
                data_dir=data_dir,
                log_dir=log_dir,
                registry_url=registry_url,
                workers=workers,
                extra_env=service_client_env.get(name),
            )
        return started[name, workers]

    try:
        yield start
    finally:
        for proc in started.values():
            proc.stop()


# --- in-process apps, one lifespan per run, one rolled-back transaction per test ---


@pytest_asyncio.fixture(scope="session")
async def registry_app(databases: Databases, data_dir: Path) -> AsyncIterator[FastAPI]:
    from otog_registry.main import create_app
    from otog_registry.settings import RegistrySettings

    app = create_app(
        RegistrySettings(
            database_url=databases.urls["registry"],
            data_dir=data_dir,
            log_json=False,
            # A test's rolled-back transaction is one connection: an import's
            # second lane would commit beside it. Live tests cover two lanes.
            import_write_lanes=1,
            # Nothing commits here for a collector to find (tests/events cover it).
            events_collect=False,
        )
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture
async def registry_session(
    registry_app: FastAPI,
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncSession]]:
    async with app_client(registry_app) as pair:
        yield pair


@pytest.fixture
def registry(registry_session: tuple[httpx.AsyncClient, AsyncSession]) -> httpx.AsyncClient:
    """HTTP client on the in-process registry (changes rolled back after the test)."""
    return registry_session[0]


class Stack:
    """The three services as real processes behind a real nginx."""

    def __init__(self, gateway_url: str, services: dict[str, ServiceProcess]) -> None:
        self.gateway_url = gateway_url
        self.services = services


@pytest.fixture(scope="session")
def live_stack(
    databases: Databases,
    live_ports: dict[str, int],
    live_registry: ServiceProcess,
    service_client_env: dict[str, dict[str, str]],
    data_dir: Path,
    log_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:

    from otog_devstack import nginx
    from otog_devstack.processes import stop_group

    binary = nginx.ensure_nginx()
    # Everything started is stopped, also when a later step fails (or no process is left).
    others: dict[str, ServiceProcess] = {}
    proc = None
    try:
        for name in ("training", "loan-ledger"):
            others[name] = start_service(
                name,
                databases.live_urls[name],
                port=live_ports[name],
                data_dir=data_dir,
                log_dir=log_dir,
                registry_url=live_registry.base_url,
                extra_env=service_client_env[name],
            )
        run_dir = tmp_path_factory.mktemp("gateway")
        gateway_port = free_port()
        conf = nginx.write_config(
            nginx.GatewayConfig(
                gateway_port=gateway_port,
                registry_port=live_registry.port,
                training_port=others["training"].port,
                loan_ledger_port=others["loan-ledger"].port,
                run_dir=run_dir,
                log_dir=log_dir,
                worker_processes="1",
                proxy_read_timeout="10s",
                **FUNCTIONAL_LIMITS,
            )
        )
        proc = nginx.start(binary, conf, log_dir / "gateway.log")
        url = f"http://127.0.0.1:{gateway_port}"
        wait_for_gateway(url, proc, log_dir)
        yield Stack(url, {"registry": live_registry, **others})
    finally:
        if proc is not None:
            stop_group(proc.pid)
        for p in others.values():
            p.stop()
