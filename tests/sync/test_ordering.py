"""The change log: positions follow commit order, so a reader never skips a change
committed late; moves, departures and deletions are tombstones; compaction keeps what
readers need and moves the horizon past the tombstones it purges."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from otog_shared.outbox import read_outbox, record_event
from otog_shared.sync.repository import Change, SyncLogRepository
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

ANG_THONG = ("150101", "1501", "15")
KAMPHAENG_PHET = ("620101", "6201", "62")


async def _add_group(session: AsyncSession, place: tuple[str, str, str] = ANG_THONG) -> uuid.UUID:
    group_id = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO groups (id, name_th, occupation, subdistrict_code, district_code,"
            " province_code, status, version) VALUES (:id, 'กลุ่มทดสอบ', 'sewing', :s, :d, :p,"
            " 'registered', 1)"
        ),
        {"id": group_id, "s": place[0], "d": place[1], "p": place[2]},
    )
    return group_id


async def _page(
    engine: AsyncEngine, after: int, *, province: str | None = "15", collection: str = "groups"
) -> tuple[list[Change], int]:
    async with AsyncSession(engine) as reader:
        log = SyncLogRepository(reader)
        top = await log.top()
        changes = await log.page(
            collection, province=province, after=after, top=top, limit=100, live_only=False
        )
    return changes, top


async def test_a_change_committed_late_is_not_skipped(engine: AsyncEngine) -> None:
    first = AsyncSession(engine)
    second = AsyncSession(engine)
    try:
        early_insert = await _add_group(first)  # inserted first, committed last
        late_insert = await _add_group(second)
        await second.commit()
        seen, top = await _page(engine, 0)
        assert [c.entity_id for c in seen] == [late_insert]
        cursor = top  # what a complete page hands out
        await first.commit()
        later, _ = await _page(engine, cursor)
        assert [c.entity_id for c in later] == [early_insert]
        assert later[0].position > cursor
    finally:
        await first.close()
        await second.close()


async def test_a_reader_between_commits_sees_each_change_exactly_once(
    engine: AsyncEngine,
) -> None:
    sessions = [AsyncSession(engine) for _ in range(4)]
    try:
        ids = [await _add_group(s) for s in sessions]
        seen: list[uuid.UUID] = []
        cursor = 0
        for s in reversed(sessions):  # commit in the opposite order of the inserts
            await s.commit()
            page, top = await _page(engine, cursor)
            seen += [c.entity_id for c in page]
            cursor = top
        assert sorted(seen) == sorted(ids) and len(seen) == len(ids)
    finally:
        for s in sessions:
            await s.close()


async def test_an_entity_changed_twice_is_delivered_once_with_its_latest_change(
    engine: AsyncEngine,
) -> None:
    async with AsyncSession(engine) as s:
        a = await _add_group(s)
        b = await _add_group(s)
        await s.commit()
        await s.execute(text("UPDATE groups SET name_th = 'ใหม่' WHERE id = :id"), {"id": a})
        await s.commit()
    page, _ = await _page(engine, 0)
    assert [c.entity_id for c in page] == [b, a]


async def test_a_worker_who_moves_province_is_a_tombstone_in_the_old_one(
    engine: AsyncEngine,
) -> None:
    worker_id = uuid.uuid4()
    async with AsyncSession(engine) as s:
        await s.execute(
            text(
                "INSERT INTO workers (id, national_id_hmac, national_id_encrypted, first_name_th,"
                " last_name_th, birth_date, subdistrict_code, district_code, province_code,"
                " social_security, pdpa_basis, version) VALUES (:id, :h, :e, 'สมศรี', 'ใจดี',"
                " '1980-01-01', '150101', '1501', '15', 'unknown', 'public_task', 1)"
            ),
            {"id": worker_id, "h": uuid.uuid4().bytes * 2, "e": b"x"},
        )
        await s.commit()
        _, cursor = await _page(engine, 0, collection="workers")
        await s.execute(
            text(
                "UPDATE workers SET subdistrict_code = '620101', district_code = '6201',"
                " province_code = '62' WHERE id = :id"
            ),
            {"id": worker_id},
        )
        await s.commit()
    old, _ = await _page(engine, cursor, collection="workers")
    assert [(c.entity_id, c.deleted) for c in old] == [(worker_id, True)]
    new, _ = await _page(engine, 0, province="62", collection="workers")
    assert [(c.entity_id, c.deleted) for c in new] == [(worker_id, False)]
    national, _ = await _page(engine, cursor, province=None, collection="workers")
    assert [(c.entity_id, c.deleted) for c in national] == [(worker_id, False)]


async def test_leaving_a_group_and_a_hard_delete_are_tombstones(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as s:
        group_id = await _add_group(s)
        worker_id = uuid.uuid4()
        await s.execute(
            text(
                "INSERT INTO workers (id, national_id_hmac, national_id_encrypted, first_name_th,"
                " last_name_th, birth_date, subdistrict_code, district_code, province_code,"
                " social_security, pdpa_basis, version) VALUES (:id, :h, :e, 'สมชาย', 'ใจดี',"
                " '1980-01-01', '150101', '1501', '15', 'unknown', 'public_task', 1)"
            ),
            {"id": worker_id, "h": uuid.uuid4().bytes * 2, "e": b"x"},
        )
        membership = uuid.uuid4()
        await s.execute(
            text(
                "INSERT INTO group_members (id, group_id, worker_id, role)"
                " VALUES (:id, :g, :w, 'member')"
            ),
            {"id": membership, "g": group_id, "w": worker_id},
        )
        await s.commit()
        _, cursor = await _page(engine, 0, collection="members")
        await s.execute(
            text("UPDATE group_members SET left_at = now() WHERE id = :id"), {"id": membership}
        )
        await s.commit()
        left, _ = await _page(engine, cursor, collection="members")
        assert [(c.entity_id, c.deleted) for c in left] == [(membership, True)]
        _, cursor = await _page(engine, 0)
        await s.execute(text("DELETE FROM stage_changes WHERE group_id = :g"), {"g": group_id})
        await s.execute(text("DELETE FROM group_members WHERE group_id = :g"), {"g": group_id})
        await s.execute(text("DELETE FROM groups WHERE id = :g"), {"g": group_id})
        await s.commit()
    deleted, _ = await _page(engine, cursor)
    assert [(c.entity_id, c.deleted) for c in deleted] == [(group_id, True)]


async def test_compaction_keeps_the_latest_change_and_moves_the_horizon(
    engine: AsyncEngine,
) -> None:
    async with AsyncSession(engine) as s:
        kept = await _add_group(s)
        gone = await _add_group(s)
        await s.commit()
        for _ in range(3):
            await s.execute(
                text("UPDATE groups SET version = version + 1 WHERE id = :id"), {"id": kept}
            )
            await s.commit()
        await s.execute(text("DELETE FROM groups WHERE id = :id"), {"id": gone})
        await s.commit()
    before, _ = await _page(engine, 0)
    async with AsyncSession(engine) as s:
        log = SyncLogRepository(s)
        assert await log.delete_superseded() == 4  # three updates' predecessors, one insert
        assert await log.purge_tombstones(datetime.now(UTC) - timedelta(days=30)) == 0
        await s.commit()
        after, _ = await _page(engine, 0)
        assert after == before
        assert await log.horizon() == 0
        purged = await log.purge_tombstones(datetime.now(UTC) + timedelta(seconds=1))
        await s.commit()
        assert purged == 1
        tombstone = next(c for c in before if c.deleted)
        assert await log.horizon() == tombstone.position
    remaining, _ = await _page(engine, 0)
    assert [c.entity_id for c in remaining] == [kept]


async def test_events_and_changes_committed_together_in_any_order_never_deadlock(
    engine: AsyncEngine,
) -> None:
    """Both positions are handed out at commit in the order of the inserts; one
    transaction inserts an event first, the other a change. Held back behind a third
    that holds the lock, both then commit at once."""
    for _ in range(3):
        event_first, change_first, holder = (AsyncSession(engine) for _ in range(3))
        try:
            await holder.execute(text("SELECT pg_advisory_xact_lock(hashtext('outbox.position'))"))
            await record_event(
                event_first, "group.created", subject="/v1/groups/x", province_code="15", data={}
            )
            a = await _add_group(event_first)
            b = await _add_group(change_first)
            await record_event(
                change_first, "group.created", subject="/v1/groups/y", province_code="15", data={}
            )
            commits = [
                asyncio.create_task(event_first.commit()),
                asyncio.create_task(change_first.commit()),
            ]
            await asyncio.sleep(0.3)  # both wait for the holder at their commit
            await holder.rollback()
            await asyncio.wait_for(asyncio.gather(*commits), timeout=20)
            page, _ = await _page(engine, 0)
            assert {a, b} <= {c.entity_id for c in page}
        finally:
            for s in (event_first, change_first, holder):
                await s.close()
    async with engine.connect() as reader:
        assert len(await read_outbox(reader, 0, 100)) == 6
