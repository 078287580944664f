from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from otog_shared.pagination import PageParams, as_date, as_uuid, unpack_cursor
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from otog_training.sessions.models import BOOKABLE_STATES, TrainingSession


@dataclass(frozen=True)
class SessionFilter:
    province_code: str | None = None
    course_id: uuid.UUID | None = None
    status: str | None = None
    mode: str | None = None


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, session_id: uuid.UUID) -> TrainingSession | None:
        return await self.session.get(TrainingSession, session_id)

    async def lock(self, session_id: uuid.UUID) -> TrainingSession:
        """The session row, locked until the transaction ends: every change to its
        seats and queue goes through this lock, in every service process."""
        result = await self.session.execute(
            select(TrainingSession)
            .where(TrainingSession.id == session_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one()

    async def add(self, training_session: TrainingSession) -> TrainingSession:
        self.session.add(training_session)
        await self.session.flush()
        return training_session

    async def page(self, flt: SessionFilter, params: PageParams) -> list[TrainingSession]:
        query = select(TrainingSession)
        if flt.province_code is not None:
            query = query.where(TrainingSession.province_code == flt.province_code)
        if flt.course_id is not None:
            query = query.where(TrainingSession.course_id == flt.course_id)
        if flt.status is not None:
            query = query.where(TrainingSession.status == flt.status)
        if flt.mode is not None:
            query = query.where(TrainingSession.mode == flt.mode)
        if params.after:
            starts_on, last_id = unpack_cursor(params.after, as_date, as_uuid)
            query = query.where(
                tuple_(TrainingSession.starts_on, TrainingSession.id) > (starts_on, last_id)
            )
        query = query.order_by(TrainingSession.starts_on, TrainingSession.id).limit(
            params.limit + 1
        )
        result = await self.session.execute(query)
        return list(result.scalars())

    async def ids_below_minimum_after_closing(self, now: datetime) -> list[uuid.UUID]:
        result = await self.session.execute(
            select(TrainingSession.id)
            .where(
                TrainingSession.status.in_([str(s) for s in BOOKABLE_STATES]),
                TrainingSession.enrollment_closes_at <= now,
                TrainingSession.confirmed_count < TrainingSession.minimum,
            )
            .order_by(TrainingSession.enrollment_closes_at, TrainingSession.id)
        )
        return list(result.scalars())

    async def find_any(
        self, course_id: uuid.UUID, province_code: str, mode: str
    ) -> TrainingSession | None:
        result = await self.session.execute(
            select(TrainingSession)
            .where(
                TrainingSession.course_id == course_id,
                TrainingSession.province_code == province_code,
                TrainingSession.mode == mode,
            )
            .limit(1)
        )
        return result.scalar_one_or_none()
