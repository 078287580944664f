"""Seat figures per training area, computed by the database (GROUP BY)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otog_training.sessions.models import SessionStatus, TrainingSession


@dataclass(frozen=True)
class AreaSeats:
    province_code: str
    sessions: int
    cancelled_sessions: int
    below_minimum_sessions: int
    capacity: int
    confirmed: int
    waitlisted: int


class TrainingStatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def seats_per_province(
        self, between: tuple[date, date], province: str | None
    ) -> list[AreaSeats]:
        """Sessions starting within ``between``, per province. A cancelled session
        offers no seats: its capacity and people are left out of the seat figures."""
        held = TrainingSession.status != SessionStatus.CANCELLED
        cancelled = TrainingSession.status == SessionStatus.CANCELLED
        # Still taking bookings and short of its minimum: at risk of cancellation.
        short = TrainingSession.status.in_([SessionStatus.OPEN]) & (
            TrainingSession.confirmed_count < TrainingSession.minimum
        )
        stmt = (
            select(
                TrainingSession.province_code,
                func.count(),
                func.count().filter(cancelled),
                func.count().filter(short),
                func.coalesce(func.sum(TrainingSession.capacity).filter(held), 0),
                func.coalesce(func.sum(TrainingSession.confirmed_count).filter(held), 0),
                func.coalesce(func.sum(TrainingSession.waitlist_count).filter(held), 0),
            )
            .where(TrainingSession.starts_on.between(*between))
            .group_by(TrainingSession.province_code)
            .order_by(TrainingSession.province_code)
        )
        if province is not None:
            stmt = stmt.where(TrainingSession.province_code == province)
        return [
            AreaSeats(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]))
            for r in await self.session.execute(stmt)
        ]
