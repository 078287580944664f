from __future__ import annotations

import uuid

from otog_shared.pagination import PageParams, as_str, as_uuid, unpack_cursor
from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from otog_training.courses.models import Course
from otog_training.sessions.models import SessionStatus, TrainingSession


class CourseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, course_id: uuid.UUID, *, for_share: bool = False) -> Course | None:
        """The course; with ``for_share`` read afresh and share-locked until the
        commit, so its modes cannot change under a session being scheduled."""
        if not for_share:
            return await self.session.get(Course, course_id)
        return await self.session.get(
            Course, course_id, with_for_update={"read": True}, populate_existing=True
        )

    async def lock(self, course_id: uuid.UUID) -> Course | None:
        """The course, locked for a change until the commit (``FOR NO KEY UPDATE``:
        sessions referring to it may still be written, unless they read it
        ``for_share``)."""
        return await self.session.get(
            Course, course_id, with_for_update={"key_share": True}, populate_existing=True
        )

    async def live_sessions_in_modes(self, course_id: uuid.UUID, modes: list[str]) -> int:
        """Sessions of the course in one of ``modes`` that have not ended."""
        result = await self.session.execute(
            select(func.count())
            .select_from(TrainingSession)
            .where(
                TrainingSession.course_id == course_id,
                TrainingSession.mode.in_(modes),
                TrainingSession.status.in_(
                    [SessionStatus.OPEN, SessionStatus.CONFIRMED, SessionStatus.RUNNING]
                ),
            )
        )
        return int(result.scalar_one())

    async def get_by_code(self, code: str) -> Course | None:
        result = await self.session.execute(select(Course).where(Course.code == code))
        return result.scalar_one_or_none()

    async def get_many(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, Course]:
        if not ids:
            return {}
        result = await self.session.execute(select(Course).where(Course.id.in_(ids)))
        return {c.id: c for c in result.scalars()}

    async def page(self, params: PageParams) -> list[Course]:
        query = select(Course).order_by(Course.code, Course.id).limit(params.limit + 1)
        if params.after:
            code, last_id = unpack_cursor(params.after, as_str, as_uuid)
            query = query.where(tuple_(Course.code, Course.id) > (code, last_id))
        result = await self.session.execute(query)
        return list(result.scalars())

    async def add(self, course: Course) -> Course:
        self.session.add(course)
        await self.session.flush()
        return course
