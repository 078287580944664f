"""Behind PgBouncer in transaction mode prepared statements must not be cached
per connection, nor named by a per-connection counter."""

from __future__ import annotations

import re

import pytest
from otog_loan_ledger.settings import Settings as LoanSettings
from otog_shared.db import connect_args, create_engine
from otog_shared.settings import ServiceSettings
from sqlalchemy import text

from tests.support.stack import Databases

COUNTER_NAME = re.compile(r"__asyncpg_stmt_[0-9a-f]+__")
UNIQUE_NAME = re.compile(r"__asyncpg_[0-9a-f]{32}__")


def test_the_default_keeps_both_caches() -> None:
    args = connect_args(ServiceSettings())
    assert args["statement_cache_size"] == args["prepared_statement_cache_size"] == 100
    assert "prepared_statement_name_func" not in args


def test_zero_from_the_environment_turns_both_caches_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOANS_DB_STATEMENT_CACHE_SIZE", "0")
    args = connect_args(LoanSettings())
    assert args["statement_cache_size"] == 0
    assert args["prepared_statement_cache_size"] == 0
    names = {args["prepared_statement_name_func"]() for _ in range(3)}
    assert len(names) == 3 and all(UNIQUE_NAME.fullmatch(n) for n in names)


def test_a_negative_size_is_refused() -> None:
    with pytest.raises(ValueError):
        ServiceSettings(db_statement_cache_size=-1)


async def _prepared_names(url: str, cache_size: int) -> list[str]:
    engine = create_engine(
        ServiceSettings(database_url=url, db_pool_size=1, db_statement_cache_size=cache_size)
    )
    try:
        async with engine.connect() as conn:
            for _ in range(3):
                await conn.execute(text("SELECT count(*) FROM alembic_version"))
            rows = await conn.execute(text("SELECT name FROM pg_prepared_statements"))
            return [r[0] for r in rows]
    finally:
        await engine.dispose()


async def test_statements_are_named_uniquely_and_not_kept(databases: Databases) -> None:
    url = databases.urls["loan-ledger"]
    cached = await _prepared_names(url, 100)
    assert cached and all(COUNTER_NAME.fullmatch(n) for n in cached)

    uncached = await _prepared_names(url, 0)
    assert not any(COUNTER_NAME.fullmatch(n) for n in uncached)
    assert all(UNIQUE_NAME.fullmatch(n) for n in uncached)
