from __future__ import annotations

import uuid

from otog_shared.auth import Principal
from otog_shared.errors import Forbidden, NotFound
from otog_shared.pagination import PageParams, paginate
from sqlalchemy.exc import IntegrityError

from otog_training.courses.models import Course
from otog_training.courses.repository import CourseRepository
from otog_training.courses.schemas import CourseCreate
from otog_training.problems import DuplicateCourseCode


class CourseService:
    def __init__(self, courses: CourseRepository) -> None:
        self.courses = courses

    async def create(self, principal: Principal, data: CourseCreate) -> Course:
        # The catalogue is national: a provincial office cannot change it.
        if principal.province is not None and "admin" not in principal.scopes:
            raise Forbidden("Only a national client may add courses to the catalogue.")
        if await self.courses.get_by_code(data.code) is not None:
            raise DuplicateCourseCode(f"A course with code {data.code} already exists.")
        course = Course(
            code=data.code,
            title_th=data.title_th,
            title_en=data.title_en,
            provider=data.provider,
            hours=data.hours,
            modes=[str(m) for m in data.modes],
            description=data.description,
        )
        try:
            return await self.courses.add(course)
        except IntegrityError as exc:  # a concurrent create with the same code
            raise DuplicateCourseCode(f"A course with code {data.code} already exists.") from exc

    async def get(self, course_id: uuid.UUID) -> Course:
        course = await self.courses.get(course_id)
        if course is None:
            raise NotFound("Course not found.")
        return course

    async def page(self, params: PageParams) -> tuple[list[Course], str | None]:
        rows = await self.courses.page(params)
        return paginate(rows, params, lambda c: (c.code, str(c.id)))
