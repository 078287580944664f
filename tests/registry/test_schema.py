"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from otog_registry.models import Base
from otog_registry.models_registry import register_all
from otog_shared.scheduler import not_scheduler_object
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.stack import Databases


def _include(name: str | None, type_: str, parent: Any) -> bool:
    return type_ != "schema" or name in (None, "public", "geo")


def _compare(sync: Connection) -> list[Any]:
    context = MigrationContext.configure(
        sync,
        opts={
            "compare_type": True,
            "include_schemas": True,
            "include_name": _include,
            "include_object": not_scheduler_object,
        },
    )
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_migrations(databases: Databases) -> None:
    register_all()
    engine = create_async_engine(databases.urls["registry"])
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(_compare)
    finally:
        await engine.dispose()
    assert differences == []
