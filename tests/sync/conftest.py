"""Fixtures of the sync tests: a registry database of their own for what must commit
(the change log's ordering and compaction), beside the shared live stack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from otog_devstack.postgres import asyncpg_url, ensure_databases, with_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.stack import Databases


@pytest.fixture(scope="session")
def sync_db_url(databases: Databases) -> str:
    from otog_shared.migrations import upgrade

    name = "test_otog_sync"
    ensure_databases(databases.server_url, [name], recreate=True)
    url = asyncpg_url(with_database(databases.server_url, name))
    upgrade("otog_registry", url)
    return url


@pytest_asyncio.fixture
async def engine(sync_db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(sync_db_url, pool_size=6)
    async with engine.begin() as conn:
        await conn.execute(
            text("TRUNCATE sync_changes, outbox, group_members, workers, groups CASCADE")
        )
        # As the suite's truncate_all leaves it: no horizon row at all.
        await conn.execute(text("TRUNCATE sync_horizon"))
    try:
        yield engine
    finally:
        await engine.dispose()
