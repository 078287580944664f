"""The scheduler itself, on a real database that commits: one run per due time across
schedulers racing for it, catch-up after downtime, takeover after a crash, rollback
of a failing body, and a clean stop that lets a running body finish.

Each scheduler here has its own connection, as separate processes would; the job
bodies count their runs in this process so that a second run cannot go unseen.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from croniter import croniter
from otog_devstack.postgres import plain_url
from otog_shared.outbox import record_event
from otog_shared.scheduler import Job, Scheduler, run_job, running
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from tests.support.stack import Databases

# Never due by the calendar within a test: only the rows the tests write make it due.
YEARLY = "0 0 1 1 *"


@pytest.fixture
def db_url(databases: Databases) -> str:
    # Any service database has the scheduler's tables; entry points are unique per test.
    return databases.live_urls["training"]


@pytest_asyncio.fixture
async def sessionmaker(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(db_url, hide_parameters=True)
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def conn(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(plain_url(db_url))
    try:
        yield c
    finally:
        await c.close()


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


class Counter:
    """A job body that counts its runs, each taking ``seconds``."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.runs = 0
        self.running = 0
        self.most_at_once = 0
        self.seconds = seconds

    async def __call__(self, session: AsyncSession, now: datetime) -> int:
        self.runs += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.seconds)
        finally:
            self.running -= 1
        return self.runs


async def put_schedule(
    conn: asyncpg.Connection,
    name: str,
    cron: str,
    next_run: timedelta,
    *,
    status: str = "queued",
    heartbeat: timedelta = timedelta(0),
) -> None:
    """The job's row as an earlier run of the service would have left it."""
    expression = " ".join(croniter(cron).expressions)
    await conn.execute(
        "INSERT INTO pgqueuer_schedules (expression, entrypoint, next_run, status, heartbeat) "
        "VALUES ($1, $2, now() + $3::interval, $4::pgqueuer_status, now() + $5::interval)",
        expression,
        name,
        next_run,
        status,
        heartbeat,
    )


async def schedule_row(conn: asyncpg.Connection, name: str) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT status::text AS status, next_run, last_run, next_run > now() AS in_future "
        "FROM pgqueuer_schedules WHERE entrypoint = $1",
        name,
    )
    assert row is not None
    return dict(row)


async def wait_until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_two_schedulers_racing_run_a_due_job_once(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], conn: asyncpg.Connection
) -> None:
    name = unique("race")
    body = Counter(seconds=1.0)
    await put_schedule(conn, name, YEARLY, timedelta(minutes=-1))
    job = Job(name, YEARLY, body)

    async with AsyncExitStack() as stack:
        for _ in range(3):
            await stack.enter_async_context(running(Scheduler(db_url, [job], sessionmaker)))
        await wait_until(lambda: body.runs >= 1)
        # Long enough for every scheduler to have polled, and for a second run to show.
        await asyncio.sleep(2.0)

    assert body.runs == 1
    assert body.most_at_once == 1
    row = await schedule_row(conn, name)
    assert row["status"] == "queued" and row["last_run"] is not None and row["in_future"]


async def test_a_job_due_while_stopped_runs_once_when_started(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], conn: asyncpg.Connection
) -> None:
    """Down for three days with a daily job: one run at start, not three."""
    missed, not_due, new = Counter(), Counter(), Counter()
    names = unique("missed"), unique("not-due"), unique("new")
    await put_schedule(conn, names[0], "0 2 * * *", timedelta(days=-3))
    await put_schedule(conn, names[1], "0 2 * * *", timedelta(hours=5))
    jobs = [
        Job(names[0], "0 2 * * *", missed),
        Job(names[1], "0 2 * * *", not_due),
        # First start ever: it waits for its first time like any other.
        Job(names[2], "0 2 * * *", new),
    ]
    async with running(Scheduler(db_url, jobs, sessionmaker)):
        await wait_until(lambda: missed.runs >= 1)
        await asyncio.sleep(1.5)

    assert (missed.runs, not_due.runs, new.runs) == (1, 0, 0)
    row = await schedule_row(conn, names[0])
    assert row["in_future"]
    # Back on its cron: the next run is the next 02:00 in Bangkok (19:00 UTC).
    assert row["next_run"].hour == 19 and row["next_run"].minute == 0
    assert (await schedule_row(conn, names[2]))["in_future"]


async def test_a_run_whose_process_died_is_taken_over(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], conn: asyncpg.Connection
) -> None:
    """Picked by a process that stopped beating a minute ago: run again elsewhere
    (bodies are idempotent for this); one still beating is left alone."""
    dead, alive = Counter(), Counter()
    names = unique("dead"), unique("alive")
    await put_schedule(
        conn, names[0], YEARLY, timedelta(hours=1), status="picked", heartbeat=timedelta(minutes=-1)
    )
    await put_schedule(conn, names[1], YEARLY, timedelta(minutes=-1), status="picked")
    jobs = [Job(names[0], YEARLY, dead), Job(names[1], YEARLY, alive)]
    async with running(Scheduler(db_url, jobs, sessionmaker)):
        await wait_until(lambda: dead.runs >= 1)
        await asyncio.sleep(1.0)
    assert (dead.runs, alive.runs) == (1, 0)
    assert (await schedule_row(conn, names[0]))["status"] == "queued"


async def test_stopping_lets_a_running_body_finish(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], conn: asyncpg.Connection
) -> None:
    name = unique("slow")
    started: list[bool] = []
    finished: list[bool] = []

    async def slow(session: AsyncSession, now: datetime) -> None:
        started.append(True)
        await asyncio.sleep(1.0)
        finished.append(True)

    await put_schedule(conn, name, YEARLY, timedelta(minutes=-1))
    async with running(Scheduler(db_url, [Job(name, YEARLY, slow)], sessionmaker)):
        await wait_until(lambda: bool(started))
        assert not finished
    assert finished == [True]
    assert (await schedule_row(conn, name))["status"] == "queued"


async def test_a_failing_body_is_rolled_back(
    sessionmaker: async_sessionmaker[AsyncSession], conn: asyncpg.Connection
) -> None:
    subject = f"/v1/training-sessions/{uuid.uuid4()}"

    async def fails(session: AsyncSession, now: datetime) -> None:
        await record_event(session, "session.cancelled", subject=subject, data={})
        raise RuntimeError("half way")

    async def succeeds(session: AsyncSession, now: datetime) -> None:
        await record_event(session, "session.cancelled", subject=subject, data={})

    with pytest.raises(RuntimeError):
        await run_job(sessionmaker, Job("fails", YEARLY, fails), datetime.now())
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE subject = $1", subject) == 0
    await run_job(sessionmaker, Job("succeeds", YEARLY, succeeds), datetime.now())
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE subject = $1", subject) == 1
    await conn.execute("DELETE FROM outbox WHERE subject = $1", subject)


async def test_a_failing_job_leaves_the_others_and_its_schedule_alone(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], conn: asyncpg.Connection
) -> None:
    names = unique("broken"), unique("fine")
    fine = Counter()

    async def broken(session: AsyncSession, now: datetime) -> None:
        raise RuntimeError("a bug")

    for name in names:
        await put_schedule(conn, name, YEARLY, timedelta(minutes=-1))
    jobs = [Job(names[0], YEARLY, broken), Job(names[1], YEARLY, fine)]
    async with running(Scheduler(db_url, jobs, sessionmaker)):
        await wait_until(lambda: fine.runs >= 1)
        await asyncio.sleep(0.5)
    for name in names:
        row = await schedule_row(conn, name)
        # Released, and waiting for its next time rather than retried in a loop.
        assert row["status"] == "queued" and row["in_future"]


def test_jobs_are_checked_when_declared() -> None:
    async def body(session: AsyncSession, now: datetime) -> None:
        return None

    with pytest.raises(ValueError, match="cron"):
        Job("bad", "every day", body)
    with pytest.raises(ValueError, match="unique"):
        Scheduler("postgresql+asyncpg://x/y", [Job("a", YEARLY, body)] * 2, None)  # type: ignore[arg-type]
