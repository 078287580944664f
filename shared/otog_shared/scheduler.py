"""Time-based jobs, run inside every service process, once per due time across all of them.

Each service declares a short list of :class:`Job` (a name, a cron expression read in
Asia/Bangkok time, and a body) and passes :func:`scheduler_hook` to ``create_app``.
Every process of the service (uvicorn workers, replicas, other machines) runs a
:class:`Scheduler`; they share the service's database and nothing else.

Claiming is pgqueuer's (``pgqueuer_schedules``, one row per job): a process takes a due
row with ``FOR UPDATE SKIP LOCKED``, moves its ``next_run`` to the next cron time and
marks it ``picked`` in one statement, runs the body, then marks it ``queued`` again. So:

- one run per due time: the row's claim and its new ``next_run`` commit together, and a
  second process either skips the locked row or finds it no longer due;
- never two runs at once: a ``picked`` row is not taken again while its process keeps
  its heartbeat (every second); a process that died mid-run stops beating, and after
  30 seconds another process takes the job over and runs it again, which is why every
  body is idempotent (a rerun changes nothing);
- catch-up: the row keeps its ``next_run`` while every process is down. The first
  process back finds it overdue and runs the job once, however many times it fell due
  meanwhile, then follows the cron from that moment. Missed runs are collapsed, never
  replayed one by one: each body looks at the state of the world "now", so one run
  does what the missed ones would have done.

A body runs in its own transaction through the service's sessionmaker and goes
through the service and repository layers; this module holds no SQL of its own.
A body that raises is rolled back and logged; the job runs again at its next time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from alembic.operations import Operations
from croniter import croniter
from fastapi import FastAPI
from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
from pgqueuer.adapters.persistence.queries import Queries
from pgqueuer.core.executors import ScheduleExecutor
from pgqueuer.core.sm import SchedulerManager
from pgqueuer.domain.models import Schedule
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otog_shared.outbox import purge_outbox

logger = logging.getLogger("otog.scheduler")

BANGKOK = ZoneInfo("Asia/Bangkok")

# Events are collected from the outbox within seconds; a month is ample slack for a
# collector that was down, and what the partner feed promises to keep.
OUTBOX_RETENTION = timedelta(days=30)

# The body of a job: the job's own session (committed by the scheduler when the body
# returns) and the moment it runs for, from the scheduler's clock.
JobBody = Callable[[AsyncSession, datetime], Awaitable[object]]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Job:
    """A job of a service: ``cron`` is a five-field cron expression in Asia/Bangkok."""

    name: str
    cron: str
    body: JobBody

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.cron):
            raise ValueError(f"job {self.name!r}: invalid cron expression {self.cron!r}")


async def run_job(
    sessionmaker: async_sessionmaker[AsyncSession], job: Job, now: datetime
) -> object:
    """Run one job's body in its own transaction; commit it, or roll it back and raise."""
    async with sessionmaker() as session:
        try:
            result = await job.body(session, now)
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
    return result


def outbox_purge_job(retention: timedelta = OUTBOX_RETENTION) -> Job:
    """The job every service has: outbox rows older than ``retention`` are deleted."""

    async def purge(session: AsyncSession, now: datetime) -> int:
        return await purge_outbox(session, now - retention)

    return Job("outbox-purge", "40 3 * * *", purge)


class _BangkokExecutor(ScheduleExecutor):
    """pgqueuer reads cron expressions in UTC; ours are Bangkok time."""

    def get_next(self) -> datetime:
        start = datetime.now(BANGKOK)
        following: datetime = croniter(self.parameters.expression, start).get_next(datetime)
        return following.astimezone(UTC)


def asyncpg_dsn(database_url: str) -> str:
    """The service's SQLAlchemy URL as a plain libpq URL for asyncpg."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class Scheduler:
    """Runs a service's jobs when due, on one connection of its own, until stopped.

    ``clock`` is what a body is told "now" is (tests give their own); when a job is
    due is decided by the database's clock, shared by every process.
    """

    def __init__(
        self,
        database_url: str,
        jobs: Sequence[Job],
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Clock = utc_now,
        retry_seconds: float = 5.0,
        connect_timeout_seconds: float = 5.0,
    ) -> None:
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique: {names}")
        self.dsn = asyncpg_dsn(database_url)
        self.jobs = list(jobs)
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.retry_seconds = retry_seconds
        self.connect_timeout_seconds = connect_timeout_seconds
        self._stopping = asyncio.Event()
        self._manager: SchedulerManager | None = None

    async def run(self) -> None:
        """Until :meth:`stop`: a database that goes away is reconnected to."""
        while not self._stopping.is_set():
            try:
                await self._run_once()
            except Exception:
                logger.exception("scheduler stopped on an error; retrying")
            if not self._stopping.is_set():
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.retry_seconds)

    async def _run_once(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=self.connect_timeout_seconds)
        try:
            manager = SchedulerManager(Queries(AsyncpgDriver(conn)))
            for job in self.jobs:
                manager.schedule(job.name, job.cron, executor_factory=_BangkokExecutor)(
                    self._crontab(job)
                )
            self._manager = manager
            if self._stopping.is_set():
                return
            await manager.run()
        finally:
            self._manager = None
            await conn.close(timeout=self.connect_timeout_seconds)

    def _crontab(self, job: Job) -> Callable[[Schedule], Awaitable[None]]:
        async def crontab(schedule: Schedule) -> None:
            started = time.perf_counter()
            try:
                result = await run_job(self.sessionmaker, job, self.clock())
            except Exception:
                # Handled here, not by pgqueuer, which would log it a second time.
                logger.exception("job %s failed; it runs again at its next time", job.name)
                return
            logger.info(
                "job %s done in %.3f s: %s",
                job.name,
                time.perf_counter() - started,
                _summary(result),
            )

        return crontab

    def stop(self) -> None:
        """Take no new job; a running one finishes (see :meth:`run`)."""
        self._stopping.set()
        if self._manager is not None:
            self._manager.shutdown.set()


def _summary(result: object) -> Any:
    if isinstance(result, list | tuple | set):
        return len(result)
    return result


@asynccontextmanager
async def running(scheduler: Scheduler, grace_seconds: float = 30.0) -> AsyncIterator[Scheduler]:
    """The scheduler running in a task for the block; stopped (a running body allowed
    ``grace_seconds`` to finish) when the block ends."""
    task = asyncio.create_task(scheduler.run(), name="otog-scheduler")
    try:
        yield scheduler
    finally:
        scheduler.stop()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_seconds)
        except TimeoutError:
            logger.warning("scheduler did not stop within %s s; cancelled", grace_seconds)
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


def scheduler_hook(jobs: Sequence[Job]) -> Callable[[FastAPI], Any]:
    """A ``create_app`` hook running ``jobs`` in the service process while it is up,
    unless the service's ``scheduler_enabled`` setting is off."""

    @asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        settings = app.state.settings
        if not settings.scheduler_enabled or not jobs:
            yield
            return
        scheduler = Scheduler(
            settings.database_url,
            jobs,
            app.state.sessionmaker,
            connect_timeout_seconds=settings.db_connect_timeout_seconds,
        )
        app.state.scheduler = scheduler
        async with running(scheduler):
            yield

    return hook


# --- migrations -----------------------------------------------------------------

# pgqueuer's tables: created by migrations, described by no model of ours (schema
# comparisons leave them out).
SCHEDULER_TABLES: frozenset[str] = frozenset(
    {"pgqueuer", "pgqueuer_log", "pgqueuer_schedules", "pgqueuer_statistics"}
)


def not_scheduler_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """An ``include_object`` for Alembic's comparisons that skips the scheduler's tables."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", None) not in SCHEDULER_TABLES


def _schema_statements() -> list[str]:
    text = resources.files("otog_shared").joinpath("scheduler_schema.sql").read_text()
    return [s.strip() for s in text.split("\n--;\n") if s.strip()]


def create_scheduler_tables(op: Operations) -> None:
    """For a service's migration: the scheduler's tables (pgqueuer's schema)."""
    for statement in _schema_statements():
        op.execute(statement)


def drop_scheduler_tables(op: Operations) -> None:
    op.execute("DROP TRIGGER IF EXISTS tg_pgqueuer_changed ON pgqueuer")
    op.execute("DROP FUNCTION IF EXISTS fn_pgqueuer_changed")
    for table in sorted(SCHEDULER_TABLES):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute("DROP TYPE IF EXISTS pgqueuer_status")
