from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.idempotency.http import IdempotentRoute
from otog_shared.pagination import Page, Pagination

from otog_training.courses.repository import CourseRepository
from otog_training.courses.schemas import CourseCreate, CourseRead, CourseUpdate
from otog_training.courses.service import CourseService
from otog_training.deps import Reader, Writer
from otog_training.web import check_current, with_etag

router = APIRouter(route_class=IdempotentRoute, prefix="/v1/courses", tags=["courses"])


@router.get(
    "",
    summary="List courses",
    response_model=Page[CourseRead],
    responses=problem_responses(401, 403, 422),
)
async def list_courses(session: DbSession, principal: Reader, page: Pagination) -> Page[CourseRead]:
    """The national course catalogue, ordered by course code. Every client with
    `training:read` sees every course, whatever its province."""
    rows, cursor = await CourseService(CourseRepository(session)).page(page)
    return Page[CourseRead](items=[CourseRead.model_validate(c) for c in rows], next_cursor=cursor)


@router.post(
    "",
    status_code=201,
    summary="Add a course",
    response_model=CourseRead,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_course(
    body: CourseCreate, session: DbSession, principal: Writer, response: Response
) -> CourseRead:
    """Adds a course to the national catalogue. Needs `training:write` on a client
    without a province (or `admin`). A code already used is a 409
    `/problems/duplicate-course-code`."""
    course = await CourseService(CourseRepository(session)).create(principal, body)
    response.headers["Location"] = f"/v1/courses/{course.id}"
    return with_etag(response, CourseRead.model_validate(course))


@router.get(
    "/{course_id}",
    summary="Get a course",
    response_model=CourseRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_course(
    course_id: uuid.UUID, session: DbSession, principal: Reader, response: Response
) -> CourseRead:
    """One course of the catalogue, with an `ETag`."""
    course = await CourseService(CourseRepository(session)).get(course_id)
    return with_etag(response, CourseRead.model_validate(course))


@router.patch(
    "/{course_id}",
    summary="Change a course",
    response_model=CourseRead,
    responses=problem_responses(401, 403, 404, 409, 412, 422),
)
async def update_course(
    course_id: uuid.UUID,
    body: CourseUpdate,
    session: DbSession,
    principal: Writer,
    request: Request,
    response: Response,
) -> CourseRead:
    """Changes titles, provider, hours, modes or description of a course (the `code`
    stays). National clients only, as for adding courses (403 otherwise). With
    `If-Match`, an `ETag` that is no longer current is 412 and nothing changes. A mode
    still used by a session that has not ended cannot be taken away: 409
    `/problems/course-mode-in-use`."""
    courses = CourseService(CourseRepository(session))
    course = await courses.lock(principal, course_id)
    check_current(request, CourseRead.model_validate(course))
    course = await courses.update(course, body)
    return with_etag(response, CourseRead.model_validate(course))
