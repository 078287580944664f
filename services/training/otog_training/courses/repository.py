from __future__ import annotations

import uuid

from otog_shared.pagination import PageParams, as_str, as_uuid, unpack_cursor
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from otog_training.courses.models import Course


class CourseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, course_id: uuid.UUID) -> Course | None:
        return await self.session.get(Course, course_id)

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
