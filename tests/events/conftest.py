"""Fixtures of the event tests: a database of their own for what must commit
(the outbox and the feed's ordering, the collector), beside the shared live stack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from otog_devstack.postgres import asyncpg_url, ensure_databases, with_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.stack import Databases


@pytest.fixture(scope="session")
def events_db_url(databases: Databases) -> str:
    """A registry database (it has both an outbox and the feed) for these tests only."""
    from otog_shared.migrations import upgrade

    name = "test_otog_events"
    ensure_databases(databases.server_url, [name], recreate=True)
    url = asyncpg_url(with_database(databases.server_url, name))
    upgrade("otog_registry", url)
    return url


@pytest_asyncio.fixture
async def engine(events_db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(events_db_url, pool_size=12)
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE outbox, event_log, event_sources"))
    try:
        yield engine
    finally:
        await engine.dispose()
