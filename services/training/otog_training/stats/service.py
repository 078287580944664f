"""Training figures per province for a fiscal year; a provincial caller sees its own."""

from __future__ import annotations

from otog_shared.auth import Principal
from otog_shared.fiscal import fiscal_year_bounds

from otog_training.stats.repository import AreaSeats, TrainingStatsRepository
from otog_training.stats.schemas import ProvinceTraining, TrainingFigures, TrainingStats


def _bps(part: int, whole: int) -> int:
    return part * 10_000 // whole if whole else 0


def _figures(seats: AreaSeats) -> dict[str, int]:
    return {
        "sessions": seats.sessions,
        "cancelled_sessions": seats.cancelled_sessions,
        "below_minimum_sessions": seats.below_minimum_sessions,
        "capacity": seats.capacity,
        "confirmed": seats.confirmed,
        "waitlisted": seats.waitlisted,
        "fill_rate_bps": _bps(seats.confirmed, seats.capacity),
    }


class TrainingStatsService:
    def __init__(self, stats: TrainingStatsRepository) -> None:
        self.stats = stats

    async def per_province(
        self, principal: Principal, fiscal_year: int, province: str | None
    ) -> TrainingStats:
        rows: list[AreaSeats] = []
        if principal.province is not None and province not in (None, principal.province):
            # Another province than the caller's: nothing to see (as with the lists).
            province = principal.province
        else:
            province = principal.province or province
            rows = await self.stats.seats_per_province(fiscal_year_bounds(fiscal_year), province)
        total = AreaSeats(
            "",
            sum(r.sessions for r in rows),
            sum(r.cancelled_sessions for r in rows),
            sum(r.below_minimum_sessions for r in rows),
            sum(r.capacity for r in rows),
            sum(r.confirmed for r in rows),
            sum(r.waitlisted for r in rows),
        )
        return TrainingStats(
            fiscal_year=fiscal_year,
            province=province,
            rows=[ProvinceTraining(province_code=r.province_code, **_figures(r)) for r in rows],
            totals=TrainingFigures(**_figures(total)),
        )
