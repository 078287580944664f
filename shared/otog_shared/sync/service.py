"""Delta sync: pages of a collection's entities, then only what changed since.

A page is the latest change of each entity after the cursor (``SyncLogRepository.page``),
with the entity's current representation, loaded for the whole page in one query by
the collection's loader. What the loader does not return (gone,
removed, or no longer in the caller's province) is a tombstone; a first sync (no cursor)
leaves tombstones out, the device having nothing to remove.

Cursors are positions of the change log, so they never skip a change that committed
late. They are versioned and bound to the collection and the province they were issued
for; they need no signature, since the caller's province is enforced on every page and
a doctored cursor can only ask again for what the caller may read anyway.

Cursors live at least :data:`RETENTION` (30 days): compaction deletes superseded changes
at any time (harmless: a later change of the same entity remains) and tombstones older
than the retention, moving the horizon past them. A cursor carries where its walk stands
and since when the device's copy is current (the log's top when the sync it belongs to
began); a device current since before the horizon could have missed a tombstone and
answers 410 ``/problems/resync-required``.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from otog_shared.auth import Principal
from otog_shared.errors import FieldError, Forbidden, ProblemError, UnprocessableEntity
from otog_shared.scheduler import Job
from otog_shared.sync.repository import Change, SyncLogRepository

RETENTION = timedelta(days=30)
DEFAULT_LIMIT = 200
MAX_LIMIT = 1000
CURSOR_KIND = "sync"
CURSOR_VERSION = 1

T = TypeVar("T", bound=BaseModel)

# Loads the current representation of the given entities for the caller, those that
# exist and are visible in ``province`` (None: every province), in one query; what it
# leaves out is a tombstone.
Loader = Callable[[Principal, Sequence[uuid.UUID], str | None], Awaitable[dict[uuid.UUID, T]]]


class ResyncRequired(ProblemError):
    status, slug, title = 410, "resync-required", "Resync Required"


RESYNC_DETAIL = (
    "Changes this old are no longer kept (cursors live at least 30 days): "
    "sync the collection again from the start, without a cursor."
)
BAD_CURSOR_DETAIL = "The cursor is not valid."
BAD_CURSOR_MESSAGE = "not a sync cursor of this collection and province"


@dataclass(frozen=True)
class SyncCollection(Generic[T]):
    """A collection offered at ``GET /v1/sync/{name}``."""

    name: str
    scope: str
    model: type[T]
    # A FastAPI dependency giving the request's Loader (built on its session).
    loader: Callable[..., Any]
    description: str


@dataclass(frozen=True)
class SyncItem(Generic[T]):
    id: uuid.UUID
    data: T | None  # None: a tombstone

    @property
    def deleted(self) -> bool:
        return self.data is None


@dataclass(frozen=True)
class SyncResult(Generic[T]):
    items: list[SyncItem[T]]
    next_cursor: str
    complete: bool


def encode_sync_cursor(collection: str, province: str | None, position: int, since: int) -> str:
    raw = json.dumps(
        [CURSOR_KIND, CURSOR_VERSION, collection, province, position, since],
        separators=(",", ":"),
    ).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor() -> UnprocessableEntity:
    # 422 like every list's cursor: valid only as a value this API gave out.
    return UnprocessableEntity(
        BAD_CURSOR_DETAIL, errors=[FieldError(field="query.cursor", message=BAD_CURSOR_MESSAGE)]
    )


def _position(value: object) -> bool:
    return type(value) is int and 0 <= value < 2**63


def decode_sync_cursor(cursor: str, collection: str, province: str | None) -> tuple[int, int]:
    """The position a cursor stands at, and since when the device's copy is current;
    422 for anything this collection and province did not issue."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _bad_cursor() from exc
    if not (
        isinstance(values, list)
        and len(values) == 6
        and values[:4] == [CURSOR_KIND, CURSOR_VERSION, collection, province]
        and _position(values[4])
        and _position(values[5])
    ):
        raise _bad_cursor()
    position: int = values[4]
    since: int = values[5]
    return position, since


def sync_province(principal: Principal, requested: str | None) -> str | None:
    """The province a sync covers: the caller's own, or for a national caller the one
    asked for (None: all)."""
    if principal.province is None:
        return requested
    if requested is not None and requested != principal.province:
        raise Forbidden(f"This caller syncs province {principal.province} only.")
    return principal.province


async def read_sync_page(
    session: AsyncSession,
    principal: Principal,
    collection: str,
    load: Loader[T],
    *,
    cursor: str | None,
    limit: int,
    province: str | None,
) -> SyncResult[T]:
    scope = sync_province(principal, province)
    log = SyncLogRepository(session)
    horizon = await log.horizon()
    # The horizon is never above a position a cursor may stand at: the highest
    # position ever handed out may be a tombstone purged since.
    top = max(await log.top(), horizon)
    if cursor is None:
        after, since = 0, top
    else:
        after, since = decode_sync_cursor(cursor, collection, scope)
        # ``since``: the device's copy is current as of that position at least (the
        # start of the sync it is in), so it can only have missed a purged tombstone
        # if the horizon passed it. A first sync's early pages stand at old positions
        # without having missed anything.
        if since < horizon or after > top:
            # Or a cursor of a database restored to an earlier state, which has
            # forgotten changes.
            raise ResyncRequired(RESYNC_DETAIL)
    changes = await log.page(
        collection,
        province=scope,
        after=after,
        top=top,
        limit=limit + 1,
        live_only=cursor is None,
    )
    if cursor is not None and await log.horizon() > since:
        raise ResyncRequired(RESYNC_DETAIL)  # compacted while this page was read
    more = len(changes) > limit
    changes = changes[:limit]
    live = [c.entity_id for c in changes if not c.deleted]
    found = await load(principal, live, scope) if live else {}
    items = _items(changes, found, first_sync=cursor is None)
    if more:
        next_cursor = encode_sync_cursor(collection, scope, changes[-1].position, since)
    else:
        # Up to date: everything up to ``top`` is on the device.
        next_cursor = encode_sync_cursor(collection, scope, top, top)
    return SyncResult(items, next_cursor, not more)


def _items(
    changes: list[Change], found: dict[uuid.UUID, T], *, first_sync: bool
) -> list[SyncItem[T]]:
    items: list[SyncItem[T]] = []
    for change in changes:
        data = None if change.deleted else found.get(change.entity_id)
        if data is None and first_sync:
            continue
        items.append(SyncItem(change.entity_id, data))
    return items


async def compact_sync_log(session: AsyncSession, now: datetime) -> dict[str, int]:
    log = SyncLogRepository(session)
    superseded = await log.delete_superseded()
    tombstones = await log.purge_tombstones(now - RETENTION)
    return {"superseded": superseded, "tombstones": tombstones}


def sync_compaction_job() -> Job:
    """The job of every service with a change log: superseded changes and tombstones
    older than :data:`RETENTION` are deleted."""
    return Job("sync-compaction", "25 * * * *", compact_sync_log)
