"""A worker's own seats, for the worker signed in with the national digital ID.

Booking and cancelling one's own seat use the same operations as officers
(`POST /v1/training-sessions/{session_id}/enrollments`,
`POST /v1/enrollments/{enrollment_id}/cancel`), which accept a `self` token for the
worker's own seats only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from otog_shared.auth import CurrentWorker
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.pagination import Page, Pagination

from otog_training.deps import enrollment_service
from otog_training.enrollments.models import EnrollmentStatus
from otog_training.enrollments.schemas import EnrollmentRead

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get(
    "/enrollments",
    summary="My enrolments",
    response_model=Page[EnrollmentRead],
    responses=problem_responses(401, 403, 422),
)
async def list_my_enrollments(
    session: DbSession,
    principal: CurrentWorker,
    page: Pagination,
    status: Annotated[EnrollmentStatus | None, Query()] = None,
) -> Page[EnrollmentRead]:
    """The signed-in worker's own enrolments in booking order (seats, waitlist
    positions, attendance, certificates), optionally of one status."""
    rows, cursor = await enrollment_service(session).of_worker(
        principal, str(status) if status else None, page
    )
    return Page[EnrollmentRead](
        items=[EnrollmentRead.model_validate(e) for e in rows], next_cursor=cursor
    )
