"""Queries on a service's change log (``sync_changes``, see :mod:`otog_shared.sync.schema`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Change:
    position: int
    entity_id: uuid.UUID
    deleted: bool


# The latest change of each entity after the cursor, in position order: a change is
# left out when a later one of the same entity (in the same province, for a province
# reader) exists, and that later one is in the range too. Walking the scope index in
# position order and stopping at the page's end keeps a page's cost proportional to the
# page, not to everything since the cursor (which DISTINCT ON would sort). ``top`` bounds
# the walk to what was visible when the page began.
_PAGE = """
SELECT c.position, c.entity_id, c.deleted
FROM sync_changes c
WHERE c.collection = :collection
  AND c.position > :after AND c.position <= :top
  {province_filter}
  {live_filter}
  AND NOT EXISTS (
      SELECT 1 FROM sync_changes l
      WHERE l.collection = c.collection AND l.entity_id = c.entity_id
        AND l.position > c.position
        {province_match}
  )
ORDER BY c.position
LIMIT :limit
"""


class SyncLogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def horizon(self) -> int:
        """The highest position of a tombstone purged for its age (0: none yet)."""
        value = await self.session.scalar(text("SELECT position FROM sync_horizon WHERE id = 1"))
        return int(value or 0)

    async def top(self) -> int:
        """The highest committed position; every change below it is visible too."""
        value = await self.session.scalar(text("SELECT max(position) FROM sync_changes"))
        return int(value or 0)

    async def page(
        self,
        collection: str,
        *,
        province: str | None,
        after: int,
        top: int,
        limit: int,
        live_only: bool,
    ) -> list[Change]:
        sql = _PAGE.format(
            province_filter="AND c.province_code = :province" if province is not None else "",
            province_match="AND l.province_code = c.province_code" if province is not None else "",
            # A first sync needs no tombstones: the device has nothing to remove.
            live_filter="AND NOT c.deleted" if live_only else "",
        )
        params: dict[str, object] = {
            "collection": collection,
            "after": after,
            "top": top,
            "limit": limit,
        }
        if province is not None:
            params["province"] = province
        rows = await self.session.execute(text(sql), params)
        return [Change(r.position, r.entity_id, r.deleted) for r in rows]

    async def delete_superseded(self, batch: int = 10_000) -> int:
        """Delete changes that a later change of the same entity, in the same province,
        makes useless to every reader; how many went. In batches, so that the job never
        holds many row locks at once."""
        total = 0
        while True:
            result = await self.session.execute(
                text(
                    """
                    DELETE FROM sync_changes WHERE id IN (
                        SELECT c.id FROM sync_changes c
                        WHERE c.position IS NOT NULL AND EXISTS (
                            SELECT 1 FROM sync_changes l
                            WHERE l.collection = c.collection AND l.entity_id = c.entity_id
                              AND l.province_code IS NOT DISTINCT FROM c.province_code
                              AND l.position > c.position
                        )
                        LIMIT :batch
                    )
                    """
                ),
                {"batch": batch},
            )
            count = int(result.rowcount)  # type: ignore[attr-defined]
            total += count
            await self.session.flush()
            if count < batch:
                return total

    async def purge_tombstones(self, older_than: datetime) -> int:
        """Delete tombstones older than ``older_than`` and move the horizon past them:
        a cursor below the horizon may have missed one (410)."""
        result = await self.session.execute(
            text(
                """
                WITH gone AS (
                    DELETE FROM sync_changes
                    WHERE deleted AND changed_at < :older_than AND position IS NOT NULL
                    RETURNING position
                )
                -- An upsert: the horizon's one row is there from the migration on, but
                -- a table emptied by hand must not make the horizon forget to move.
                INSERT INTO sync_horizon AS h (id, position, moved_at)
                SELECT 1, max(position), now() FROM gone HAVING count(*) > 0
                ON CONFLICT (id) DO UPDATE
                SET position = greatest(h.position, excluded.position), moved_at = now()
                RETURNING (SELECT count(*) FROM gone)
                """
            ),
            {"older_than": older_than},
        )
        row = result.first()
        return int(row[0]) if row else 0
