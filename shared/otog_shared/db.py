"""Database engine, sessions and the declarative base conventions.

One ``AsyncSession`` per request; the request dependency is the only place
that commits. Services and repositories only ``flush()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import MetaData, func
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from otog_shared.dbfaults import watch_engine
from otog_shared.settings import ServiceSettings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def connect_args(settings: ServiceSettings) -> dict[str, Any]:
    """What the asyncpg dialect passes to ``asyncpg.connect``, and its own options."""
    args: dict[str, Any] = {
        "timeout": settings.db_connect_timeout_seconds,
        # asyncpg's cache of prepared statements for fetch()/execute().
        "statement_cache_size": settings.db_statement_cache_size,
        # SQLAlchemy's dialect prepares every statement through asyncpg's
        # prepare() and keeps its own cache of them on the connection.
        "prepared_statement_cache_size": settings.db_statement_cache_size,
    }
    if settings.db_statement_cache_size == 0:
        # asyncpg numbers its statements per connection (__asyncpg_stmt_1__, …):
        # through a pooler two clients' numbers collide on one server connection.
        args["prepared_statement_name_func"] = _unique_statement_name
    return args


def create_engine(settings: ServiceSettings) -> AsyncEngine:
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=settings.db_pool_pre_ping,
        echo=settings.db_echo,
        # Statement parameters are people's names, birth dates, phone numbers:
        # never in an exception's text nor in the echo log.
        hide_parameters=True,
        connect_args=connect_args(settings),
    )
    watch_engine(engine.sync_engine)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_session_slots(settings: ServiceSettings) -> asyncio.Semaphore:
    """One slot per pooled connection, taken in arrival order.

    Requests beyond the pool would otherwise wait inside the pool's queue, which
    lets a newcomer take a just-returned connection ahead of a woken waiter: under
    load a few requests then wait for seconds while the rest pass. asyncio's
    semaphore serves its waiters first come, first served.
    """
    return asyncio.Semaphore(settings.db_pool_size + settings.db_max_overflow)


@contextlib.asynccontextmanager
async def _pooled_session(app: Any) -> AsyncIterator[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    slots: asyncio.Semaphore | None = getattr(app.state, "session_slots", None)
    async with slots or contextlib.nullcontext(), sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise


async def get_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: committed once when the endpoint succeeds."""
    async with _pooled_session(request.app) as session:
        yield session
        await session.commit()


def spare_session(request: Request) -> contextlib.AbstractAsyncContextManager[AsyncSession] | None:
    """A second session for an endpoint that commits in steps of its own (a bulk
    import writing through two connections), or None when no pool slot is free
    right now: waiting for one while holding the request's own would deadlock as
    soon as enough such requests ran at once. It rolls back what is uncommitted
    on failure and never commits itself."""
    slots: asyncio.Semaphore | None = getattr(request.app.state, "session_slots", None)
    if slots is not None and slots.locked():
        return None
    # Taken at once: nothing awaits between this check and the slot's acquisition.
    return _pooled_session(request.app)


# Scoped to the endpoint function: the commit runs before the response is sent.
# With FastAPI's default scope for a dependency with ``yield`` it would run after
# the response had gone out, and a client could be told "201, posted" for a
# transaction that then failed to commit, or not yet see its own write.
DbSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]
