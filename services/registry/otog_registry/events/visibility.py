"""Which events a caller may read: the feed and the webhooks filter with the same rule."""

from __future__ import annotations

from collections.abc import Iterable

from otog_shared.outbox import EVENT_TYPES, read_scope


def readable_types(scopes: Iterable[str]) -> frozenset[str]:
    """The event types a caller with these scopes may read."""
    held = frozenset(scopes)
    if "admin" in held:
        return EVENT_TYPES
    return frozenset(t for t in EVENT_TYPES if (need := read_scope(t)) is None or need in held)


def sees_province(caller_province: str | None, event_province: str | None) -> bool:
    """A caller bound to a province reads only that province's events (national
    events, which have no province, included only for callers without one)."""
    return caller_province is None or caller_province == event_province
