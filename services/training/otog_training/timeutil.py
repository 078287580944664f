"""Business time: deadlines and dates are judged in Asia/Bangkok."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")


def utcnow() -> datetime:
    return datetime.now(UTC)


def start_of_day(day: date) -> datetime:
    """Midnight at the start of ``day`` in Bangkok."""
    return datetime.combine(day, time.min, tzinfo=BANGKOK)


def in_bangkok(moment: datetime) -> datetime:
    return moment.astimezone(BANGKOK)


def buddhist_year(day: date) -> int:
    return day.year + 543
