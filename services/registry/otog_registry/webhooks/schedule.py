"""When a failed delivery is tried again."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def next_delay(
    attempts_made: int,
    delays: list[float],
    *,
    jitter: float,
    retry_after: float | None = None,
    retry_after_max: float = 86400,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds until the next attempt after ``attempts_made`` failed ones, or None
    when the schedule is exhausted.

    Jitter spreads the retries of a burst that failed together (a receiver back
    from an outage is not hit by every delivery in the same second). A receiver's
    ``Retry-After`` is honoured: never sooner than it asks, up to a day.
    """
    if attempts_made > len(delays):
        return None
    base = delays[attempts_made - 1]
    delay = base * (1 + (rng or random).uniform(-jitter, jitter))
    if retry_after is not None:
        delay = max(delay, min(retry_after, retry_after_max))
    return delay
