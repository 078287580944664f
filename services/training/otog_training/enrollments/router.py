from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response
from otog_shared.auth import any_scope_security
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.idempotency.http import (
    IdempotentRoute,
    answer_committed,
    answer_to_record,
    record_answer_in,
)
from otog_shared.pagination import Page, Pagination
from sqlalchemy.ext.asyncio import AsyncSession

from otog_training.deps import SEAT_SCOPES, Reader, SeatHolder, Writer, enrollment_service
from otog_training.enrollments.batcher import SeatBatcher
from otog_training.enrollments.models import Enrollment, EnrollmentStatus
from otog_training.enrollments.repository import EnrollmentFilter
from otog_training.enrollments.schemas import (
    ENROLLMENT_CANCEL_EXAMPLES,
    ENROLLMENT_COMPLETE_EXAMPLES,
    AttendanceCreate,
    AttendanceList,
    AttendanceRead,
    EnrollmentCancel,
    EnrollmentComplete,
    EnrollmentCreate,
    EnrollmentRead,
    GroupProgress,
)
from otog_training.enrollments.service import Booked, SeatBooking
from otog_training.registry import RegistryGateway
from otog_training.web import etag_of, with_etag

router = APIRouter(route_class=IdempotentRoute, tags=["enrollments"])


@router.post(
    "/v1/training-sessions/{session_id}/enrollments",
    status_code=201,
    summary="Book a seat",
    response_model=EnrollmentRead,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
    openapi_extra=any_scope_security(*SEAT_SCOPES),
)
async def create_enrollment(
    session_id: uuid.UUID,
    body: EnrollmentCreate,
    session: DbSession,
    principal: SeatHolder,
    request: Request,
) -> Response:
    """Enrols a registered worker: `confirmed` while seats remain, otherwise
    `waitlisted` with a `waitlist_position` (1 is next). The worker (and the group, if
    given) must be known to the registry: 422 `/problems/unknown-worker` otherwise, 503
    when the registry cannot be reached (nothing is stored then). The same worker twice
    in a session is 409 `/problems/already-enrolled`; a session no longer taking
    bookings is 409 `/problems/enrollment-closed`.

    Order: within one service process, bookings of a session get seats and queue
    places in the order their checks (the session, the worker, the group, the
    registry) finished, booked together in one transaction; across processes, in the
    order those transactions take the session's lock. A booking sent a moment before
    another is therefore not promised the earlier place.

    Needs `training:write` (an officer names `worker_id`) or a worker's own `self` token
    (national digital ID sign-in): the seat is then booked for that worker, `worker_id`
    may be omitted, and another worker's id is 403; `group_id` must be one of the worker's
    own groups. Like any caller bound to a province, a worker books in sessions of their
    own province (the token's)."""
    answer = _Answer(request)
    settings = request.app.state.settings
    enrollment = await enrollment_service(session).enroll(
        principal,
        session_id,
        body,
        RegistryGateway.from_request(request),
        batcher=_batcher(request) if settings.booking_batching else None,
        answer=answer,
    )
    return answer.response or _created(enrollment)


def _created(enrollment: Enrollment) -> Response:
    """The 201 answer, rendered as the route would render the model (and, when the
    booking is batched, stored in the batch's transaction byte for byte)."""
    model = EnrollmentRead.model_validate(enrollment)
    return Response(
        content=model.model_dump_json().encode(),
        status_code=201,
        media_type="application/json",
        headers={"Location": f"/v1/enrollments/{enrollment.id}", "ETag": etag_of(model)},
    )


class _Answer:
    """A booking's answer, stored by the batch that books it (AnswerKeeper)."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.rendered: Response | None = None
        self.response: Response | None = None

    async def write(self, db: AsyncSession, enrollment: Enrollment) -> None:
        # The batch holds the session's lock while it writes: an answer with
        # nothing to store is rendered after the commit, by the request itself.
        if answer_to_record(self.request):
            self.rendered = _created(enrollment)
            await record_answer_in(self.request, db, self.rendered)

    def committed(self) -> None:
        answer_committed(self.request)
        self.response = self.rendered


def _batcher(request: Request) -> SeatBatcher[SeatBooking, Booked]:
    """The process's batcher of bookings (made on first use: it holds no resources)."""
    state = request.app.state
    batcher: SeatBatcher[SeatBooking, Booked] | None = getattr(state, "booking_batcher", None)
    if batcher is None:
        batcher = SeatBatcher(state.settings.booking_batch_limit)
        state.booking_batcher = batcher
    return batcher


@router.get(
    "/v1/training-sessions/{session_id}/enrollments",
    summary="List a session's enrolments",
    response_model=Page[EnrollmentRead],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_session_enrollments(
    session_id: uuid.UUID,
    session: DbSession,
    principal: Reader,
    page: Pagination,
    status: Annotated[EnrollmentStatus | None, Query()] = None,
) -> Page[EnrollmentRead]:
    """The session's enrolments in booking order, optionally of one status."""
    flt = EnrollmentFilter(session_id=session_id, status=str(status) if status else None)
    rows, cursor = await enrollment_service(session).page(principal, flt, page)
    return Page[EnrollmentRead](
        items=[EnrollmentRead.model_validate(e) for e in rows], next_cursor=cursor
    )


@router.get(
    "/v1/enrollments",
    summary="List enrolments",
    response_model=Page[EnrollmentRead],
    responses=problem_responses(401, 403, 422),
)
async def list_enrollments(
    session: DbSession,
    principal: Reader,
    page: Pagination,
    worker_id: Annotated[uuid.UUID | None, Query(description="One worker's bookings.")] = None,
    group_id: Annotated[uuid.UUID | None, Query(description="Bookings made for a group.")] = None,
    status: Annotated[EnrollmentStatus | None, Query()] = None,
) -> Page[EnrollmentRead]:
    """Enrolments across sessions in booking order (a worker's bookings, a group's).
    A provincial client sees only enrolments in its province's sessions."""
    flt = EnrollmentFilter(
        worker_id=worker_id, group_id=group_id, status=str(status) if status else None
    )
    rows, cursor = await enrollment_service(session).page(principal, flt, page)
    return Page[EnrollmentRead](
        items=[EnrollmentRead.model_validate(e) for e in rows], next_cursor=cursor
    )


@router.get(
    "/v1/enrollments/progress",
    summary="A group's training progress",
    response_model=GroupProgress,
    responses=problem_responses(401, 403, 422),
)
async def get_group_progress(
    session: DbSession,
    principal: Reader,
    group_id: Annotated[uuid.UUID, Query(description="The occupation group.")],
) -> GroupProgress:
    """How many of the group's members (workers enrolled for the group) enrolled in and
    completed each course. A provincial client counts only its province's sessions."""
    return await enrollment_service(session).group_progress(principal, group_id)


@router.get(
    "/v1/enrollments/{enrollment_id}",
    summary="Get an enrolment",
    response_model=EnrollmentRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_enrollment(
    enrollment_id: uuid.UUID, session: DbSession, principal: Reader, response: Response
) -> EnrollmentRead:
    """One enrolment with its status, waitlist position, attendance count and
    certificate, and an `ETag`."""
    enrollment, _ = await enrollment_service(session).get_visible(principal, enrollment_id)
    return with_etag(response, EnrollmentRead.model_validate(enrollment))


@router.post(
    "/v1/enrollments/{enrollment_id}/cancel",
    summary="Cancel an enrolment",
    response_model=EnrollmentRead,
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=any_scope_security(*SEAT_SCOPES),
)
async def cancel_enrollment(
    enrollment_id: uuid.UUID,
    session: DbSession,
    principal: SeatHolder,
    response: Response,
    body: Annotated[EnrollmentCancel | None, Body(examples=ENROLLMENT_CANCEL_EXAMPLES)] = None,
) -> EnrollmentRead:
    """Cancels a `confirmed` or `waitlisted` enrolment. A freed seat goes to the first
    person waiting in the same transaction, and everyone behind moves up one place.

    Needs `training:write`, or a worker's own `self` token for the worker's own
    enrolment, in any province (another's is 404)."""
    enrollment = await enrollment_service(session).cancel(
        principal, enrollment_id, body or EnrollmentCancel()
    )
    return with_etag(response, EnrollmentRead.model_validate(enrollment))


@router.post(
    "/v1/enrollments/{enrollment_id}/attendance",
    summary="Record a day's attendance",
    response_model=EnrollmentRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def record_attendance(
    enrollment_id: uuid.UUID,
    body: AttendanceCreate,
    session: DbSession,
    principal: Writer,
    response: Response,
) -> EnrollmentRead:
    """Records whether the person was there on one day of a running (or completed)
    session. Recording the same day again replaces the record, so it is safe to retry."""
    enrollment = await enrollment_service(session).record_attendance(principal, enrollment_id, body)
    return with_etag(response, EnrollmentRead.model_validate(enrollment))


@router.get(
    "/v1/enrollments/{enrollment_id}/attendance",
    summary="List an enrolment's attendance",
    response_model=AttendanceList,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_attendance(
    enrollment_id: uuid.UUID, session: DbSession, principal: Reader
) -> AttendanceList:
    """Every day recorded for the enrolment, in date order."""
    enrollment, records = await enrollment_service(session).attendance(principal, enrollment_id)
    return AttendanceList(
        enrollment_id=enrollment.id,
        days_present=enrollment.days_present,
        records=[AttendanceRead.model_validate(r) for r in records],
    )


@router.post(
    "/v1/enrollments/{enrollment_id}/complete",
    summary="Record completion and the certificate",
    response_model=EnrollmentRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def complete_enrollment(
    enrollment_id: uuid.UUID,
    session: DbSession,
    principal: Writer,
    response: Response,
    body: Annotated[EnrollmentComplete | None, Body(examples=ENROLLMENT_COMPLETE_EXAMPLES)] = None,
) -> EnrollmentRead:
    """Marks a confirmed enrolment with recorded attendance as `completed` and records
    its certificate number (the office's, or one the service issues). A number already
    recorded is 409 `/problems/duplicate-certificate-number`."""
    enrollment = await enrollment_service(session).complete(
        principal, enrollment_id, body or EnrollmentComplete()
    )
    return with_etag(response, EnrollmentRead.model_validate(enrollment))
