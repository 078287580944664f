"""Thai government fiscal years and the programme's business calendar.

The fiscal year runs 1 October – 30 September and is named by the Buddhist Era
year in which it ends: FY2568 is 1 October 2024 – 30 September 2025.
Business dates are those of Asia/Bangkok.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
BUDDHIST_ERA_OFFSET = 543


def today_in_bangkok(now: datetime | None = None) -> date:
    return (now or datetime.now(BANGKOK)).astimezone(BANGKOK).date()


def fiscal_year_of(day: date) -> int:
    """The Buddhist Era fiscal year a date belongs to."""
    year = day.year + 1 if day.month >= 10 else day.year
    return year + BUDDHIST_ERA_OFFSET


def current_fiscal_year(now: datetime | None = None) -> int:
    return fiscal_year_of(today_in_bangkok(now))


def fiscal_year_bounds(fiscal_year: int) -> tuple[date, date]:
    """First and last day of a fiscal year."""
    end_year = fiscal_year - BUDDHIST_ERA_OFFSET
    return date(end_year - 1, 10, 1), date(end_year, 9, 30)
