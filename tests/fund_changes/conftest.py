"""Fixtures of the fund figures' tests: the loan-ledger fixtures, and the loan
ledger as real processes in either setting of ``LOANS_FUND_CHANGES``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from otog_devstack.postgres import free_port, plain_url
from otog_devstack.processes import ServiceProcess
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from tests.loans.conftest import (  # noqa: F401  (fixtures)
    Auth,
    Groups,
    auth,
    db,
    flow,
    groups,
    loans,
    loans_app,
    loans_session,
)
from tests.support.stack import Databases, start_service, truncate_all


@pytest.fixture(
    scope="module",
    # Today's design again, in the slow tier: the suite's time goes to the new one.
    params=[
        pytest.param(True, id="fund-changes"),
        pytest.param(False, id="fund-row", marks=pytest.mark.slow),
    ],
)
def ledger_processes(
    request: pytest.FixtureRequest,
    databases: Databases,
    live_registry: ServiceProcess,
    service_client_env: dict[str, dict[str, str]],
    data_dir: Path,
    log_dir: Path,
) -> Iterator[tuple[bool, ServiceProcess]]:
    """The loan ledger as two worker processes on the committing database, with
    repayments appended as changes (``fund-changes``) or added to the fund's row."""
    fund_changes: bool = request.param
    proc = start_service(
        "loan-ledger",
        databases.live_urls["loan-ledger"],
        port=free_port(),
        data_dir=data_dir,
        log_dir=log_dir,
        registry_url=live_registry.base_url,
        workers=2,
        extra_env={
            **service_client_env["loan-ledger"],
            "LOANS_FUND_CHANGES": "true" if fund_changes else "false",
        },
    )
    try:
        yield fund_changes, proc
    finally:
        proc.stop()


@pytest_asyncio.fixture
async def api(
    ledger_processes: tuple[bool, ServiceProcess], databases: Databases
) -> AsyncIterator[httpx.AsyncClient]:
    await truncate_all(databases.live_urls["loan-ledger"])
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=300)
    async with httpx.AsyncClient(
        base_url=ledger_processes[1].base_url, timeout=120, limits=limits
    ) as client:
        yield client


@pytest_asyncio.fixture
async def ledger_db(databases: Databases) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection on the committing loan-ledger database, to look behind the API."""
    conn = await asyncpg.connect(plain_url(databases.live_urls["loan-ledger"]))
    try:
        yield conn
    finally:
        await conn.close()


@pytest_asyncio.fixture(scope="module")
async def group_pool(groups: Groups) -> list[dict[str, Any]]:  # noqa: F811
    """Occupation groups for the module's loans: a group has one open loan per
    fund, and every test lends from a fund of its own."""
    semaphore = asyncio.Semaphore(8)

    async def create() -> dict[str, Any]:
        async with semaphore:
            return await groups.create()

    return list(await asyncio.gather(*(create() for _ in range(56))))


class Folder:
    """Runs the loan ledger's fold job, as the scheduler would, on the committing database."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def __call__(self) -> int:
        from otog_loan_ledger.jobs import fold_fund_changes

        engine = create_async_engine(self.url)
        try:
            async with async_sessionmaker(engine)() as session, session.begin():
                return await fold_fund_changes(session, datetime.now(UTC))
        finally:
            await engine.dispose()


@pytest.fixture
def fold(databases: Databases) -> Folder:
    return Folder(databases.live_urls["loan-ledger"])
