"""The partner feed: one order across the three services' events.

Who sees what, by the rule webhooks deliver with too (``otog_registry.events.visibility``):
an event whose type needs a scope the caller lacks is left out (``admin`` reads
everything); a caller bound to a province sees that province's events only (national
events, which have no province, only for callers without one).

Retention: events are kept at least :data:`RETENTION_DAYS` days. The job that deletes
older ones calls :func:`purge_events_older_than`; it deletes a prefix of the feed and
remembers the highest position deleted, and a cursor below that position answers 410
``/problems/cursor-expired``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from otog_shared.auth import Principal
from otog_shared.errors import FieldError, ProblemError, UnprocessableEntity
from otog_shared.events import SOURCE_URIS, CloudEvent
from otog_shared.outbox import EVENT_TYPES
from otog_shared.pagination import decode_cursor, encode_cursor
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.events import visibility
from otog_registry.events.repository import EventLogRepository, LoggedEvent
from otog_registry.events.schemas import EventPage

RETENTION_DAYS = 30

# Never in the feed: a ping goes to one subscription only.
NOT_IN_FEED = frozenset({"webhook.ping"})
FEED_TYPES = EVENT_TYPES - NOT_IN_FEED


class CursorExpired(ProblemError):
    status, slug, title = 410, "cursor-expired", "Cursor Expired"


def _bad_after(message: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        "The cursor is not valid.", errors=[FieldError(field="query.after", message=message)]
    )


def decode_feed_cursor(cursor: str) -> int:
    try:
        values = decode_cursor(cursor)
    except UnprocessableEntity as exc:
        raise _bad_after("not a cursor of this feed") from exc
    if len(values) != 1 or type(values[0]) is not int or not 0 <= values[0] < 2**63:
        raise _bad_after("not a cursor of this feed")
    return values[0]


def encode_feed_cursor(position: int) -> str:
    return encode_cursor([position])


def readable_types(principal: Principal, wanted: Sequence[str] | None) -> list[str]:
    """The types asked for (all by default) that the caller's scopes let it read."""
    if wanted is not None:
        unknown = sorted(set(wanted) - FEED_TYPES)
        if unknown:
            raise UnprocessableEntity(
                "Unknown event types.",
                errors=[
                    FieldError(field="query.types", message=f"unknown event type {t!r}")
                    for t in unknown
                ],
            )
    candidates = FEED_TYPES if wanted is None else set(wanted)
    return sorted(candidates & visibility.readable_types(principal.scopes))


def to_cloudevent(event: LoggedEvent) -> CloudEvent:
    return CloudEvent(
        id=str(event.id),
        source=SOURCE_URIS.get(event.source, f"/otog/{event.source}"),
        type=event.type,
        time=event.occurred_at,
        subject=event.subject,
        provincecode=event.province_code,
        data=event.data,
    )


class FeedService:
    def __init__(self, repository: EventLogRepository) -> None:
        self.repository = repository

    async def page(
        self,
        principal: Principal,
        *,
        after: str | None,
        types: Sequence[str] | None,
        limit: int,
    ) -> EventPage:
        position = 0
        if after is not None:
            position = decode_feed_cursor(after)
            purged = await self.repository.purged_through()
            if position < purged:
                raise CursorExpired(
                    f"Events are kept {RETENTION_DAYS} days; those after this cursor are "
                    "gone. Start again without `after` (from the oldest kept).",
                )
        events, top = await self.repository.page(
            after=position,
            types=readable_types(principal, types),
            province=principal.province,
            limit=limit,
        )
        # A page not full holds everything visible up to the newest event: the next
        # poll starts there, not back at events the filters left out.
        next_position = events[-1].position if len(events) == limit else max(position, top or 0)
        return EventPage(
            items=[to_cloudevent(e) for e in events], next_cursor=encode_feed_cursor(next_position)
        )


async def purge_events_older_than(
    session: AsyncSession, days: int = RETENTION_DAYS, *, now: datetime | None = None
) -> int:
    """Delete feed events recorded more than ``days`` ago (at least the retention the
    contract promises); how many were deleted. Runs in the caller's transaction."""
    if days < RETENTION_DAYS:
        raise ValueError(f"events are kept at least {RETENTION_DAYS} days")
    repository = EventLogRepository(session)
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    through = await repository.last_position_older_than(cutoff)
    if through is None:
        return 0
    return await repository.purge_through(through)
