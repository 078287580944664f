"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from typing import Any

import otog_loan_ledger.funds.models
import otog_loan_ledger.idempotency.models
import otog_loan_ledger.ledger.models
import otog_loan_ledger.loans.models
import otog_loan_ledger.repayments.models  # noqa: F401 (registers the tables)
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from otog_loan_ledger.models import Base
from otog_shared.scheduler import not_scheduler_object
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.stack import Databases


def _compare(sync: Connection) -> list[Any]:
    context = MigrationContext.configure(
        sync, opts={"compare_type": True, "include_object": not_scheduler_object}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_migrations(databases: Databases) -> None:
    engine = create_async_engine(databases.urls["loan-ledger"])
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(_compare)
    finally:
        await engine.dispose()
    assert differences == []
