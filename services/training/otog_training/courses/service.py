from __future__ import annotations

import uuid

from otog_shared.auth import Principal
from otog_shared.client_ids.service import refuse_taken_id
from otog_shared.errors import Forbidden, NotFound
from otog_shared.pagination import PageParams, paginate
from sqlalchemy.exc import IntegrityError

from otog_training.courses.models import Course
from otog_training.courses.repository import CourseRepository
from otog_training.courses.schemas import CourseCreate, CourseUpdate
from otog_training.problems import CourseModeInUse, DuplicateCourseCode


class CourseService:
    def __init__(self, courses: CourseRepository) -> None:
        self.courses = courses

    async def create(self, principal: Principal, data: CourseCreate) -> Course:
        _ensure_national(principal, "add courses to")
        if await self.courses.get_by_code(data.code) is not None:
            raise DuplicateCourseCode(f"A course with code {data.code} already exists.")
        course = Course(
            id=data.id or uuid.uuid4(),
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
            refuse_taken_id(exc)
            raise DuplicateCourseCode(f"A course with code {data.code} already exists.") from exc

    async def lock(self, principal: Principal, course_id: uuid.UUID) -> Course:
        """The course, locked for a change until the commit."""
        _ensure_national(principal, "change")
        course = await self.courses.lock(course_id)
        if course is None:
            raise NotFound("Course not found.")
        return course

    async def update(self, course: Course, data: CourseUpdate) -> Course:
        """Apply a PATCH to a course locked by :meth:`lock`. A mode taken away must
        not be in use by a session that has not ended."""
        changes = data.model_dump(exclude_unset=True)
        if "modes" in changes:
            changes["modes"] = [str(m) for m in changes["modes"]]
            dropped = sorted(set(course.modes) - set(changes["modes"]))
            in_use = await self.courses.live_sessions_in_modes(course.id, dropped) if dropped else 0
            if in_use:
                raise CourseModeInUse(
                    f"{in_use} session(s) of this course that have not ended are "
                    f"{' or '.join(dropped)}; the mode cannot be taken away.",
                    modes=dropped,
                    sessions=in_use,
                )
        for field, value in changes.items():
            setattr(course, field, value)
        await self.courses.session.flush()
        return course

    async def get(self, course_id: uuid.UUID) -> Course:
        course = await self.courses.get(course_id)
        if course is None:
            raise NotFound("Course not found.")
        return course

    async def page(self, params: PageParams) -> tuple[list[Course], str | None]:
        rows = await self.courses.page(params)
        return paginate(rows, params, lambda c: (c.code, str(c.id)))


def _ensure_national(principal: Principal, what: str) -> None:
    # The catalogue is national: a provincial office cannot change it.
    if principal.province is not None and "admin" not in principal.scopes:
        raise Forbidden(f"Only a national client may {what} the course catalogue.")
