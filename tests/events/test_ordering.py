"""Positions follow commit order: a reader never skips a row committed late, in a
service's outbox and in the merged feed; collecting is exactly once."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import httpx
from otog_devstack.postgres import free_port
from otog_registry.events.collector import collect_once, collect_source, http_source, local_source
from otog_registry.events.repository import EventLogRepository
from otog_registry.events.service import FEED_TYPES
from otog_shared.outbox import OutboxEvent, read_outbox, record_event
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


async def _record(session: AsyncSession, n: int = 0) -> uuid.UUID:
    return await record_event(
        session,
        "group.created",
        subject=f"/v1/groups/{uuid.uuid4()}",
        province_code="10",
        data={"n": n},
    )


async def test_outbox_row_committed_late_is_not_skipped(engine: AsyncEngine) -> None:
    first = AsyncSession(engine)
    second = AsyncSession(engine)
    try:
        early_insert = await _record(first)  # inserted first, committed last
        late_insert = await _record(second)
        await second.commit()
        async with engine.connect() as reader:
            seen = await read_outbox(reader, 0, 100)
            assert [e.id for e in seen] == [late_insert]
            cursor = seen[-1].position
            await first.commit()
            await reader.commit()  # a new snapshot, as the next poll has
            later = await read_outbox(reader, cursor, 100)
        assert [e.id for e in later] == [early_insert]
        assert later[0].position > cursor
    finally:
        await first.close()
        await second.close()


async def test_feed_row_committed_late_is_not_skipped(engine: AsyncEngine) -> None:
    insert = text(
        "INSERT INTO event_log (id, source, source_position, type, subject, data, occurred_at)"
        " VALUES (:id, 'training', :sp, 'session.created', '/v1/x', '{}', now())"
    )
    first = AsyncSession(engine)
    second = AsyncSession(engine)
    a, b = uuid.uuid4(), uuid.uuid4()
    try:
        await first.execute(insert, {"id": a, "sp": 1})
        await second.execute(insert, {"id": b, "sp": 2})
        await second.commit()
        async with AsyncSession(engine) as reader:
            page, top = await EventLogRepository(reader).page(
                after=0, types=sorted(FEED_TYPES), province=None, limit=10
            )
            assert [e.id for e in page] == [b] and top == page[0].position
            await first.commit()
            await reader.commit()
            later, _ = await EventLogRepository(reader).page(
                after=top, types=sorted(FEED_TYPES), province=None, limit=10
            )
        assert [e.id for e in later] == [a]
    finally:
        await first.close()
        await second.close()


async def test_a_polling_reader_sees_every_commit_in_commit_order(engine: AsyncEngine) -> None:
    """Many writers commit in an order of their own (each holds its transaction open
    for a random while after inserting) while a reader polls with a cursor."""
    # When each commit started and ended (seen from here).
    commits: dict[uuid.UUID, tuple[float, float]] = {}

    async def writer(n: int) -> None:
        async with AsyncSession(engine) as session:
            event_id = await _record(session, n)
            await asyncio.sleep(random.uniform(0, 0.05))
            started = time.monotonic()
            await session.commit()
            commits[event_id] = (started, time.monotonic())

    seen: list[OutboxEvent] = []
    done = asyncio.Event()

    async def reader() -> None:
        cursor = 0
        async with engine.connect() as conn:
            while True:
                last_round = done.is_set()
                page = await read_outbox(conn, cursor, 1000)
                await conn.commit()
                seen.extend(page)
                if page:
                    cursor = page[-1].position
                if last_round:
                    return
                await asyncio.sleep(0.002)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(n) for n in range(40)))
    done.set()
    await reading
    assert sorted(e.id for e in seen) == sorted(commits)  # every one, each once
    positions = [e.position for e in seen]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    # A commit that ended before another began has the smaller position.
    position = {e.id: e.position for e in seen}
    for a, (_, a_ended) in commits.items():
        for b, (b_started, _) in commits.items():
            if a_ended < b_started:
                assert position[a] < position[b]


async def test_collecting_twice_adds_nothing_twice(engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as s, s.begin():
        ids = [await _record(s, n) for n in range(3)]
    assert await collect_source(sessions, local_source(), 500) == 3
    assert await collect_source(sessions, local_source(), 500) == 0
    # Even when the source's position is lost (a restore), no event comes twice.
    async with sessions() as s, s.begin():
        await s.execute(text("UPDATE event_sources SET last_position = 0"))
    assert await collect_source(sessions, local_source(), 500) == 3
    async with sessions() as s:
        rows = (await s.execute(text("SELECT id FROM event_log ORDER BY position"))).scalars()
        assert list(rows) == ids


async def test_two_collectors_at_once_collect_each_event_once(engine: AsyncEngine) -> None:
    """Two processes' rounds racing (two sessionmakers, as two processes have)."""
    one = async_sessionmaker(engine, expire_on_commit=False)
    other = async_sessionmaker(engine, expire_on_commit=False)
    async with one() as s, s.begin():
        ids = {await _record(s, n) for n in range(50)}
    for _ in range(5):
        await asyncio.gather(
            collect_once(one, [local_source()], 7), collect_once(other, [local_source()], 7)
        )
    while sum((await collect_once(one, [local_source()], 7)).values()):
        pass
    async with one() as s:
        rows = list((await s.execute(text("SELECT id FROM event_log"))).scalars())
    assert len(rows) == len(ids) and set(rows) == ids


async def test_a_source_that_is_down_does_not_stop_the_others(engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as s, s.begin():
        await _record(s)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{free_port()}", timeout=1) as dead:

        class NoToken:
            def get(self) -> str:
                return "unused"

        down = http_source("training", dead, NoToken())  # type: ignore[arg-type]
        moved = await collect_once(sessions, [down, local_source()], 500)
    assert moved == {"training": 0, "registry": 1}
    assert down.down_since is not None


async def _collected(engine: AsyncEngine) -> list[uuid.UUID]:
    async with AsyncSession(engine) as s:
        return list((await s.execute(text("SELECT id FROM event_log"))).scalars())


async def _wait_for(engine: AsyncEngine, ids: set[uuid.UUID], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not ids <= set(await _collected(engine)):
        assert time.monotonic() < deadline, "not collected in time"
        await asyncio.sleep(0.05)


async def test_one_process_collects_and_another_takes_over(
    engine: AsyncEngine, events_db_url: str
) -> None:
    """Two processes' loops (two engines): one collects; when it stops, the other
    takes over, and nothing is collected twice."""
    from otog_registry.events.collector import run_collector
    from sqlalchemy.ext.asyncio import create_async_engine

    names = ["collector-a", "collector-b"]
    engines = [
        create_async_engine(
            events_db_url, connect_args={"server_settings": {"application_name": name}}
        )
        for name in names
    ]
    loops = [
        asyncio.create_task(
            run_collector(
                e,
                async_sessionmaker(e, expire_on_commit=False),
                [local_source()],
                interval=0.05,
                batch=100,
            )
        )
        for e in engines
    ]
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with sessions() as s, s.begin():
            first = {await _record(s, n) for n in range(5)}
        await _wait_for(engine, first)
        leaders = await _holders(engine)
        assert len(leaders) == 1
        # Stop the one that holds the collector's lock; the other follows on.
        loops[names.index(leaders[0])].cancel()
        await asyncio.sleep(0.1)
        async with sessions() as s, s.begin():
            second = {await _record(s, n) for n in range(5)}
        await _wait_for(engine, first | second)
        collected = await _collected(engine)
        assert len(collected) == len(set(collected)) == 10
        assert await _holders(engine) == [n for n in names if n != leaders[0]]
    finally:
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        for e in engines:
            await e.dispose()


async def _holders(engine: AsyncEngine) -> list[str]:
    """The application names of the connections holding the collector's lock."""
    async with AsyncSession(engine) as s:
        rows = await s.execute(
            text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND ((l.classid::bigint << 32) | l.objid::bigint) "
                "= hashtext('event_log.collector')::bigint"
            )
        )
        return list(rows.scalars())
