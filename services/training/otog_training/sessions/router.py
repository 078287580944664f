from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.idempotency.http import IdempotentRoute
from otog_shared.pagination import Page, Pagination

from otog_training.deps import Reader, Writer, session_service
from otog_training.sessions.models import SessionMode, SessionStatus
from otog_training.sessions.repository import SessionFilter
from otog_training.sessions.schemas import (
    SESSION_CANCEL_EXAMPLES,
    EnrollmentEventRead,
    ProvinceCode,
    SessionCancel,
    SessionCreate,
    SessionRead,
    SessionUpdate,
)
from otog_training.web import check_current, with_etag

router = APIRouter(
    route_class=IdempotentRoute, prefix="/v1/training-sessions", tags=["training-sessions"]
)


@router.get(
    "",
    summary="List training sessions",
    response_model=Page[SessionRead],
    responses=problem_responses(401, 403, 422),
)
async def list_training_sessions(
    session: DbSession,
    principal: Reader,
    page: Pagination,
    province: Annotated[ProvinceCode | None, Query(description="Training area.")] = None,
    course_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[SessionStatus | None, Query()] = None,
    mode: Annotated[SessionMode | None, Query()] = None,
) -> Page[SessionRead]:
    """Sessions ordered by first day, with their seat counts. A provincial client
    sees only its own province's sessions."""
    flt = SessionFilter(
        province_code=province,
        course_id=course_id,
        status=str(status) if status else None,
        mode=str(mode) if mode else None,
    )
    rows, cursor = await session_service(session).page(principal, flt, page)
    return Page[SessionRead](
        items=[SessionRead.model_validate(s) for s in rows], next_cursor=cursor
    )


@router.post(
    "",
    status_code=201,
    summary="Schedule a training session",
    response_model=SessionRead,
    responses=problem_responses(401, 403, 422),
)
async def create_training_session(
    body: SessionCreate, session: DbSession, principal: Writer, response: Response
) -> SessionRead:
    """Schedules a session of a course in a training area. `capacity` is 1..500,
    `minimum` defaults to 100 (or the capacity when smaller). A provincial client may
    schedule only in its own province (403 otherwise)."""
    created = await session_service(session).create(principal, body)
    response.headers["Location"] = f"/v1/training-sessions/{created.id}"
    return with_etag(response, SessionRead.model_validate(created))


@router.get(
    "/{session_id}",
    summary="Get a training session",
    response_model=SessionRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_training_session(
    session_id: uuid.UUID, session: DbSession, principal: Reader, response: Response
) -> SessionRead:
    """One session with `status`, `confirmed_count`, `waitlist_count` and `seats_left`,
    and an `ETag`."""
    found = await session_service(session).get_visible(principal, session_id)
    return with_etag(response, SessionRead.model_validate(found))


@router.patch(
    "/{session_id}",
    summary="Change a training session",
    response_model=SessionRead,
    responses=problem_responses(401, 403, 404, 409, 412, 422),
)
async def update_training_session(
    session_id: uuid.UUID,
    body: SessionUpdate,
    session: DbSession,
    principal: Writer,
    request: Request,
    response: Response,
) -> SessionRead:
    """Changes a session. While `open` or `confirmed`: `starts_on`, `ends_on`, `mode`,
    `venue`, `online_url`, `capacity`, `minimum`, `enrollment_closes_at`; while
    `running`: `venue` and `online_url` only; once `completed` or `cancelled`: nothing
    (409 `/problems/wrong-state`, with the refused `fields`). A value equal to the
    current one is no change. The rules of scheduling hold for the result (422 naming
    the field): `ends_on` not before `starts_on`, booking closing by the first day,
    `minimum` at most `capacity`, the place the mode needs (switching `mode` needs it in
    the same request), a mode the course offers.

    `capacity` never goes below the people already confirmed (409
    `/problems/capacity-below-confirmed`); more seats go at once to the waitlist in
    order, each person promoted told with `enrollment.promoted`, as when someone
    cancels. When the dates, mode or place change, everybody confirmed or waiting is
    told with `session.changed` (see `…/events`). A lower `minimum` reached by the
    confirmed people confirms the session.

    With `If-Match`, an `ETag` that is no longer current is 412 and nothing changes:
    the seat counts are part of the representation, so a booking in between makes an
    `ETag` stale too. A provincial client changes only its own province's sessions."""
    sessions = session_service(session)
    locked = await sessions.lock_visible(principal, session_id)
    check_current(request, SessionRead.model_validate(locked))
    updated = await sessions.update(locked, body)
    return with_etag(response, SessionRead.model_validate(updated))


@router.post(
    "/{session_id}/cancel",
    summary="Cancel a training session",
    response_model=SessionRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def cancel_training_session(
    session_id: uuid.UUID,
    session: DbSession,
    principal: Writer,
    response: Response,
    body: Annotated[SessionCancel | None, Body(examples=SESSION_CANCEL_EXAMPLES)] = None,
) -> SessionRead:
    """Cancels an `open` or `confirmed` session and every live enrolment in it; each
    person gets a `session.cancelled` event. With reason `below_minimum` (the default)
    this is allowed only after booking closed with fewer confirmed people than the
    minimum (409 `/problems/wrong-state` otherwise)."""
    cancelled = await session_service(session).cancel(
        principal, session_id, body or SessionCancel()
    )
    return with_etag(response, SessionRead.model_validate(cancelled))


@router.post(
    "/{session_id}/start",
    summary="Start a training session",
    response_model=SessionRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def start_training_session(
    session_id: uuid.UUID, session: DbSession, principal: Writer, response: Response
) -> SessionRead:
    """`confirmed` → `running`. People still on the waitlist are released (their
    enrolments cancelled with reason `waitlist_closed`, and told)."""
    started = await session_service(session).start(principal, session_id)
    return with_etag(response, SessionRead.model_validate(started))


@router.post(
    "/{session_id}/complete",
    summary="Complete a training session",
    response_model=SessionRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def complete_training_session(
    session_id: uuid.UUID, session: DbSession, principal: Writer, response: Response
) -> SessionRead:
    """`running` → `completed`. Attendance and completions may still be recorded."""
    completed = await session_service(session).complete(principal, session_id)
    return with_etag(response, SessionRead.model_validate(completed))


@router.get(
    "/{session_id}/events",
    summary="List a session's notification events",
    response_model=Page[EnrollmentEventRead],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_session_events(
    session_id: uuid.UUID, session: DbSession, principal: Reader, page: Pagination
) -> Page[EnrollmentEventRead]:
    """What each enrolled person was (or is to be) told, oldest first: booked, waitlisted,
    moved up, cancelled, session cancelled, waitlist closed, completed."""
    rows, cursor = await session_service(session).events(principal, session_id, page)
    return Page[EnrollmentEventRead](
        items=[EnrollmentEventRead.model_validate(e) for e in rows], next_cursor=cursor
    )
