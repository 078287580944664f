"""Queries on the merged feed (``event_log``) and on the collection's bookkeeping
(``event_sources``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from otog_shared.outbox import OutboxEvent
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import bindparam

# ``event_sources`` keeps, beside one row per source, the highest feed position
# removed by retention under this name: a cursor below it points at events no
# longer kept.
RETENTION_ROW = "(retention)"


@dataclass(frozen=True)
class LoggedEvent:
    id: uuid.UUID
    position: int
    source: str
    type: str
    subject: str
    province_code: str | None
    data: dict[str, Any]
    occurred_at: datetime


# One statement, so one snapshot: the highest committed position and the page are
# read together. Positions are handed out in commit order, so everything at or
# below that highest position is visible in the same snapshot, and a cursor moved
# up to it skips nothing (not even on a page the filters left empty).
_PAGE = text(
    """
    SELECT head.top, e.id, e.position, e.source, e.type, e.subject, e.province_code,
           e.data, e.occurred_at
    FROM (SELECT max(position) AS top FROM event_log) AS head
    LEFT JOIN LATERAL (
        SELECT id, position, source, type, subject, province_code, data, occurred_at
        FROM event_log
        WHERE position > :after
          AND type = ANY(:types)
          AND (CAST(:province AS text) IS NULL OR province_code = :province)
        ORDER BY position
        LIMIT :limit
    ) AS e ON true
    ORDER BY e.position
    """
)

# ``recorded_at``: when the collector had read the event (after the fetch, which can
# take a while under load), rather than its transaction's start.
_INSERT = text(
    """
    INSERT INTO event_log (
        id, source, source_position, type, subject, province_code, data, occurred_at,
        recorded_at
    )
    VALUES (:id, :source, :source_position, :type, :subject, :province_code, :data,
            :occurred_at, clock_timestamp())
    ON CONFLICT DO NOTHING
    """
).bindparams(bindparam("data", type_=JSONB))


class EventLogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, *, after: int, types: Sequence[str], province: str | None, limit: int
    ) -> tuple[list[LoggedEvent], int | None]:
        """Up to ``limit`` events above ``after``, and the highest committed position."""
        rows = (
            await self.session.execute(
                _PAGE,
                {
                    "after": after,
                    "types": list(types),
                    "province": province,
                    "limit": limit,
                },
            )
        ).all()
        top = rows[0].top if rows else None
        events = [
            LoggedEvent(
                id=r.id,
                position=r.position,
                source=r.source,
                type=r.type,
                subject=r.subject,
                province_code=r.province_code,
                data=r.data,
                occurred_at=r.occurred_at,
            )
            for r in rows
            if r.id is not None
        ]
        return events, top

    async def purged_through(self) -> int:
        value = await self.session.scalar(
            text("SELECT last_position FROM event_sources WHERE source = :name"),
            {"name": RETENTION_ROW},
        )
        return int(value or 0)

    async def purge_through(self, position: int) -> int:
        """Delete every event at or below ``position`` and remember that it is gone."""
        deleted = (
            await self.session.execute(
                text("DELETE FROM event_log WHERE position <= :p"), {"p": position}
            )
        ).rowcount  # type: ignore[attr-defined]
        await self.session.execute(
            text(
                """
                INSERT INTO event_sources (source, last_position) VALUES (:name, :p)
                ON CONFLICT (source) DO UPDATE
                SET last_position = GREATEST(event_sources.last_position, EXCLUDED.last_position),
                    updated_at = now()
                """
            ),
            {"name": RETENTION_ROW, "p": position},
        )
        return int(deleted or 0)

    async def last_position_older_than(self, cutoff: datetime) -> int | None:
        """The highest position recorded before ``cutoff``: deleting through it removes
        a prefix of the feed, never a hole."""
        value = await self.session.scalar(
            text("SELECT max(position) FROM event_log WHERE recorded_at < :cutoff"),
            {"cutoff": cutoff},
        )
        return int(value) if value is not None else None

    # --- collection ---------------------------------------------------------

    async def try_lock_source(self, source: str) -> bool:
        """This transaction collects ``source``, unless another process is doing so."""
        got = await self.session.scalar(
            text("SELECT pg_try_advisory_xact_lock(hashtext('event_log.collect.' || :s))"),
            {"s": source},
        )
        return bool(got)

    async def collected_through(self, source: str) -> int:
        value = await self.session.scalar(
            text("SELECT last_position FROM event_sources WHERE source = :s"), {"s": source}
        )
        return int(value or 0)

    async def add_collected(self, source: str, events: Sequence[OutboxEvent]) -> None:
        """Insert a source's events (again: nothing happens twice) and advance the
        source's position, in the caller's transaction."""
        await self.session.execute(
            _INSERT,
            [
                {
                    "id": e.id,
                    "source": source,
                    "source_position": e.position,
                    "type": e.type,
                    "subject": e.subject,
                    "province_code": e.province_code,
                    "data": e.data,
                    "occurred_at": e.occurred_at,
                }
                for e in events
            ],
        )
        await self.session.execute(
            text(
                """
                INSERT INTO event_sources (source, last_position) VALUES (:s, :p)
                ON CONFLICT (source) DO UPDATE
                SET last_position = GREATEST(event_sources.last_position, EXCLUDED.last_position),
                    updated_at = now()
                """
            ),
            {"s": source, "p": max(e.position for e in events)},
        )
