"""Events travel on notifications (``pg_notify`` at the commit) rather than on the
next poll; a notification is only a hint, so one lost still gets everything there
by the fallback poll, and a listener that loses its connection comes back."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from otog_registry.events import collector
from otog_registry.events.collector import local_source, run_collector
from otog_shared.events import OutboxReader
from otog_shared.outbox import OUTBOX_CHANNEL, Wakeup, record_event
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

# Far longer than any wake-up takes, far shorter than the waits the tests set up: a
# test that finishes within it was woken, not polled.
WOKEN_WITHIN = 10.0
NEVER = 60.0


async def _record(engine: AsyncEngine) -> uuid.UUID:
    async with AsyncSession(engine) as s, s.begin():
        return await record_event(
            s, "group.created", subject=f"/v1/groups/{uuid.uuid4()}", data={"n": 1}
        )


async def _listening(wakeup: Wakeup) -> None:
    await asyncio.wait_for(wakeup.listening.wait(), WOKEN_WITHIN)


@pytest_asyncio.fixture
async def wakeup(engine: AsyncEngine) -> AsyncIterator[Wakeup]:
    w = Wakeup.of(engine, [OUTBOX_CHANNEL])
    w.start()
    await _listening(w)
    w.event.clear()
    try:
        yield w
    finally:
        await w.stop()


async def test_a_commit_with_an_event_notifies_and_a_rollback_does_not(
    engine: AsyncEngine, wakeup: Wakeup
) -> None:
    async with AsyncSession(engine) as s, s.begin():
        await record_event(s, "group.created", subject="/v1/groups/x", data={})
        await record_event(s, "group.created", subject="/v1/groups/y", data={})
        await s.rollback()
    assert not await wakeup.wait(0.5)
    await _record(engine)
    assert await wakeup.wait(WOKEN_WITHIN)


async def test_the_listener_comes_back_after_losing_its_connection(
    engine: AsyncEngine, wakeup: Wakeup
) -> None:
    heard = wakeup.heard
    async with AsyncSession(engine) as s, s.begin():
        killed = await s.scalar(
            text("SELECT pg_terminate_backend(:pid)"), {"pid": wakeup.backend_pid}
        )
    assert killed
    # Reconnected, it wakes its waiter once: what committed meanwhile is looked for.
    await asyncio.wait_for(_heard_after(wakeup, heard), WOKEN_WITHIN)
    await _listening(wakeup)
    heard = wakeup.heard
    await _record(engine)
    await asyncio.wait_for(_heard_after(wakeup, heard), WOKEN_WITHIN)


async def _heard_after(wakeup: Wakeup, heard: int) -> None:
    while wakeup.heard == heard:
        await wakeup.heard_since(heard, 0.1)


async def test_the_outbox_long_poll_answers_when_an_event_commits(
    engine: AsyncEngine, events_db_url: str
) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    reader = OutboxReader(create_async_engine(events_db_url, pool_size=1, max_overflow=0))
    try:
        # Nothing there: the reader waits (and starts listening).
        assert await reader.read(0, 10, 0.2) == []
        await _listening(reader.wakeup)
        started = time.monotonic()
        polling = asyncio.create_task(reader.read(0, 10, NEVER))
        await asyncio.sleep(0.2)
        assert not polling.done()
        event_id = await _record(engine)
        events = await asyncio.wait_for(polling, WOKEN_WITHIN)
        assert [e.id for e in events] == [event_id]
        assert time.monotonic() - started < WOKEN_WITHIN
    finally:
        await reader.close()


async def test_a_lost_notification_still_ends_the_long_poll_with_the_event(
    engine: AsyncEngine, events_db_url: str
) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    reader = OutboxReader(create_async_engine(events_db_url, pool_size=1, max_overflow=0))
    try:
        assert await reader.read(0, 10, 0.1) == []
        await _listening(reader.wakeup)
        reader.wakeup._heard = lambda *_: None  # type: ignore[method-assign]
        polling = asyncio.create_task(reader.read(0, 10, 1.0))
        event_id = await _record(engine)
        # Read again when the wait ends, notified or not.
        assert [e.id for e in await polling] == [event_id]
    finally:
        await reader.close()


async def _collected(engine: AsyncEngine) -> set[uuid.UUID]:
    async with AsyncSession(engine) as s:
        return set((await s.execute(text("SELECT id FROM event_log"))).scalars())


@pytest.mark.parametrize("deaf", [False, True], ids=["notified", "notification-lost"])
async def test_the_collector_follows_notifications_and_polls_when_one_is_lost(
    engine: AsyncEngine, wakeup: Wakeup, monkeypatch: pytest.MonkeyPatch, deaf: bool
) -> None:
    """Notified, the collector reads at once (its fallback poll is set to never
    come); with every notification lost, the fallback poll still collects."""
    monkeypatch.setattr(collector, "FALLBACK_POLL_SECONDS", 0.3 if deaf else NEVER)
    loop = asyncio.create_task(
        run_collector(
            engine,
            async_sessionmaker(engine, expire_on_commit=False),
            [local_source()],
            interval=NEVER,
            batch=100,
            wakeup=wakeup,
        )
    )
    try:
        # The first round (at once) has found nothing; now only a wake-up reads.
        await asyncio.sleep(0.5)
        if deaf:
            wakeup._heard = lambda *_: None  # type: ignore[method-assign]
        ids = {await _record(engine) for _ in range(3)}
        deadline = time.monotonic() + WOKEN_WITHIN
        while not ids <= await _collected(engine):
            assert time.monotonic() < deadline, "not collected"
            await asyncio.sleep(0.05)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
