from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from otog_shared.auth import Principal, ensure_may_act_in, ensure_visible
from otog_shared.errors import FieldError, NotFound, UnprocessableEntity
from otog_shared.pagination import PageParams, paginate

from otog_training.courses.repository import CourseRepository
from otog_training.enrollments.models import (
    EnrollmentCancelReason,
    EnrollmentEvent,
    EnrollmentStatus,
    EventKind,
)
from otog_training.enrollments.repository import EnrollmentRepository
from otog_training.enrollments.seats import event_row, fill_free_seats, note_minimum
from otog_training.events import publish_enrollments, publish_session
from otog_training.problems import CapacityBelowConfirmed, WrongState
from otog_training.provinces import PROVINCE_CODES
from otog_training.sessions.models import (
    BOOKABLE_STATES,
    DEFAULT_MINIMUM,
    EDITABLE_FIELDS,
    NOTIFIED_FIELDS,
    CancelReason,
    SessionMode,
    SessionStatus,
    TrainingSession,
)
from otog_training.sessions.repository import SessionFilter, SessionRepository
from otog_training.sessions.schemas import SessionCancel, SessionCreate, SessionUpdate
from otog_training.timeutil import start_of_day, utcnow


class SessionService:
    def __init__(
        self,
        sessions: SessionRepository,
        enrollments: EnrollmentRepository,
        courses: CourseRepository,
    ) -> None:
        self.sessions = sessions
        self.enrollments = enrollments
        self.courses = courses

    async def create(self, principal: Principal, data: SessionCreate) -> TrainingSession:
        ensure_may_act_in(principal, data.province_code)
        errors: list[FieldError] = []
        if data.province_code not in PROVINCE_CODES:
            errors.append(FieldError(field="body.province_code", message="not a DOPA province"))
        # Shared-locked until the commit: a concurrent change of the course's modes
        # waits for this session to exist (and then sees it), or this one sees the
        # change.
        course = await self.courses.get(data.course_id, for_share=True)
        if course is None:
            errors.append(FieldError(field="body.course_id", message="no such course"))
        elif str(data.mode) not in course.modes:
            errors.append(
                FieldError(field="body.mode", message="this course is not offered in this mode")
            )
        if data.ends_on < data.starts_on:
            errors.append(FieldError(field="body.ends_on", message="before starts_on"))
        minimum = data.minimum if data.minimum is not None else min(DEFAULT_MINIMUM, data.capacity)
        if minimum > data.capacity:
            errors.append(FieldError(field="body.minimum", message="greater than capacity"))
        first_day = start_of_day(data.starts_on)
        closes_at = data.enrollment_closes_at or first_day
        if closes_at > first_day:
            errors.append(
                FieldError(
                    field="body.enrollment_closes_at",
                    message="after the start of the first day (Asia/Bangkok)",
                )
            )
        if errors:
            raise UnprocessableEntity("The session has invalid values.", errors=errors)
        training_session = await self.sessions.add(
            TrainingSession(
                id=data.id or uuid.uuid4(),
                course_id=data.course_id,
                province_code=data.province_code,
                mode=str(data.mode),
                starts_on=data.starts_on,
                ends_on=data.ends_on,
                venue=data.venue,
                online_url=data.online_url,
                capacity=data.capacity,
                minimum=minimum,
                enrollment_closes_at=closes_at,
                status=SessionStatus.OPEN,
                confirmed_count=0,
                waitlist_count=0,
            )
        )
        await publish_session(self.sessions.session, "session.created", training_session)
        return training_session

    async def get_visible(self, principal: Principal, session_id: uuid.UUID) -> TrainingSession:
        training_session = await self.sessions.get(session_id)
        if training_session is None:
            raise NotFound("Training session not found.")
        ensure_visible(principal, training_session.province_code, "Training session")
        return training_session

    async def page(
        self, principal: Principal, flt: SessionFilter, params: PageParams
    ) -> tuple[list[TrainingSession], str | None]:
        if principal.province is not None:
            if flt.province_code not in (None, principal.province):
                return [], None
            flt = SessionFilter(
                province_code=principal.province,
                course_id=flt.course_id,
                status=flt.status,
                mode=flt.mode,
            )
        rows = await self.sessions.page(flt, params)
        return paginate(rows, params, lambda s: (s.starts_on.isoformat(), str(s.id)))

    async def lock_visible(self, principal: Principal, session_id: uuid.UUID) -> TrainingSession:
        """The session, locked until the commit (for a change judged on its current state)."""
        await self.get_visible(principal, session_id)
        return await self.sessions.lock(session_id)

    async def update(
        self, training_session: TrainingSession, data: SessionUpdate, now: datetime | None = None
    ) -> TrainingSession:
        """Apply a PATCH to a session locked by :meth:`lock_visible`.

        A sent value equal to the stored one is no change, so a client may send back
        what it read. More seats go to the waitlist in order (the same code path as a
        cancellation); people enrolled are told when the dates, mode or place change.
        """
        now = now or utcnow()
        status = training_session.status
        editable = EDITABLE_FIELDS[status]
        if not editable:
            raise WrongState(f"A {status} session can no longer be changed.", status_now=status)
        sent = data.model_dump(exclude_unset=True)
        before = {field: getattr(training_session, field) for field in sent}
        changed = {field: value for field, value in sent.items() if value != before[field]}
        refused = sorted(set(changed) - editable)
        if refused:
            raise WrongState(
                f"A {status} session can change only: {', '.join(sorted(editable))}.",
                status_now=status,
                fields=refused,
            )
        if not changed:
            return training_session
        after = {
            field: changed.get(field, getattr(training_session, field))
            for field in EDITABLE_FIELDS[SessionStatus.OPEN]
        }
        await self._check_update(training_session, sent, changed, after)

        for field, value in changed.items():
            setattr(training_session, field, str(value) if field == "mode" else value)
        events = await fill_free_seats(self.enrollments, training_session, now)
        note_minimum(training_session, now)
        await self.enrollments.add_events(events)
        await publish_enrollments(self.sessions.session, training_session, events)
        if status != training_session.status == SessionStatus.CONFIRMED:
            await publish_session(self.sessions.session, "session.confirmed", training_session)
        told = {
            field: {"before": _as_text(before[field]), "after": _as_text(changed[field])}
            for field in sorted(changed)
            if field in NOTIFIED_FIELDS
        }
        if told:
            await self.enrollments.tell_everyone(
                training_session.id,
                [EnrollmentStatus.CONFIRMED, EnrollmentStatus.WAITLISTED],
                EventKind.SESSION_CHANGED,
                changes=told,
                now=now,
            )
        await self.sessions.session.flush()
        return training_session

    async def _check_update(
        self,
        training_session: TrainingSession,
        sent: dict[str, Any],
        changed: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        errors: list[FieldError] = []
        if "mode" in changed:
            course = await self.courses.get(training_session.course_id, for_share=True)
            assert course is not None  # a foreign key
            if str(after["mode"]) not in course.modes:
                errors.append(
                    FieldError(field="body.mode", message="this course is not offered in this mode")
                )
        # Emptying the place the session's mode needs (switching mode without it is
        # refused by the request model already).
        if after["mode"] == SessionMode.ONSITE and after["venue"] is None:
            errors.append(FieldError(field="body.venue", message="required while onsite"))
        if after["mode"] == SessionMode.ONLINE and after["online_url"] is None:
            errors.append(FieldError(field="body.online_url", message="required while online"))
        if after["ends_on"] < after["starts_on"]:
            field = "ends_on" if "ends_on" in sent else "starts_on"
            errors.append(
                FieldError(field=f"body.{field}", message="starts_on would be after ends_on")
            )
        if after["enrollment_closes_at"] > start_of_day(after["starts_on"]):
            errors.append(
                FieldError(
                    field="body.enrollment_closes_at",
                    message=(
                        "booking would close after the start of the first day (Asia/Bangkok); "
                        "send an earlier enrollment_closes_at"
                    ),
                )
            )
        if after["minimum"] > after["capacity"]:
            field = "minimum" if "minimum" in sent else "capacity"
            errors.append(
                FieldError(field=f"body.{field}", message="minimum would be greater than capacity")
            )
        if errors:
            raise UnprocessableEntity("The change has invalid values.", errors=errors)
        if after["capacity"] < training_session.confirmed_count:
            raise CapacityBelowConfirmed(
                f"{training_session.confirmed_count} people already hold a seat; the capacity "
                "cannot go below that.",
                confirmed_count=training_session.confirmed_count,
                capacity=after["capacity"],
            )

    async def cancel(
        self,
        principal: Principal,
        session_id: uuid.UUID,
        data: SessionCancel,
        now: datetime | None = None,
    ) -> TrainingSession:
        await self.get_visible(principal, session_id)
        training_session = await self.sessions.lock(session_id)
        return await self._cancel_locked(training_session, data.reason, data.note, now or utcnow())

    async def _cancel_locked(
        self,
        training_session: TrainingSession,
        reason: CancelReason,
        note: str | None,
        now: datetime,
    ) -> TrainingSession:
        if training_session.status not in BOOKABLE_STATES:
            raise WrongState(
                f"A {training_session.status} session cannot be cancelled.",
                status_now=training_session.status,
            )
        if reason == CancelReason.BELOW_MINIMUM:
            if now < training_session.enrollment_closes_at:
                raise WrongState(
                    "Booking has not closed yet; a session is judged against its minimum "
                    "only after its closing time."
                )
            if training_session.confirmed_count >= training_session.minimum:
                raise WrongState(
                    "The session has reached its minimum.",
                    confirmed_count=training_session.confirmed_count,
                    minimum=training_session.minimum,
                )
        cancelled = await self.enrollments.cancel_all(
            training_session.id,
            [EnrollmentStatus.CONFIRMED, EnrollmentStatus.WAITLISTED],
            reason=EnrollmentCancelReason.SESSION_CANCELLED,
            note=note,
            now=now,
        )
        told = [
            event_row(
                training_session.id,
                c.enrollment_id,
                c.worker_id,
                EventKind.SESSION_CANCELLED,
                reason=str(reason),
                note=note,
                now=now,
            )
            for c in cancelled
        ]
        await self.enrollments.add_events(told)
        training_session.status = SessionStatus.CANCELLED
        training_session.cancelled_at = now
        training_session.cancel_reason = str(reason)
        training_session.cancel_note = note
        training_session.confirmed_count = 0
        training_session.waitlist_count = 0
        await self.sessions.session.flush()
        await publish_session(
            self.sessions.session,
            "session.cancelled",
            training_session,
            reason=str(reason),
            cancelled_enrollments=len(cancelled),
        )
        await publish_enrollments(
            self.sessions.session,
            training_session,
            told,
            previous_status={c.enrollment_id: c.previous_status for c in cancelled},
        )
        return training_session

    async def start(
        self, principal: Principal, session_id: uuid.UUID, now: datetime | None = None
    ) -> TrainingSession:
        """``confirmed`` → ``running``; whoever still waits is told the queue closed."""
        await self.get_visible(principal, session_id)
        now = now or utcnow()
        training_session = await self.sessions.lock(session_id)
        if training_session.status != SessionStatus.CONFIRMED:
            raise WrongState(
                "Only a confirmed session (one that reached its minimum) can start.",
                status_now=training_session.status,
            )
        closed = await self.enrollments.cancel_all(
            training_session.id,
            [EnrollmentStatus.WAITLISTED],
            reason=EnrollmentCancelReason.WAITLIST_CLOSED,
            note=None,
            now=now,
        )
        told = [
            event_row(
                training_session.id,
                c.enrollment_id,
                c.worker_id,
                EventKind.WAITLIST_CLOSED,
                reason=str(EnrollmentCancelReason.WAITLIST_CLOSED),
                now=now,
            )
            for c in closed
        ]
        await self.enrollments.add_events(told)
        await publish_enrollments(self.sessions.session, training_session, told)
        training_session.waitlist_count = 0
        training_session.status = SessionStatus.RUNNING
        training_session.started_at = now
        await self.sessions.session.flush()
        return training_session

    async def complete(
        self, principal: Principal, session_id: uuid.UUID, now: datetime | None = None
    ) -> TrainingSession:
        await self.get_visible(principal, session_id)
        training_session = await self.sessions.lock(session_id)
        if training_session.status != SessionStatus.RUNNING:
            raise WrongState(
                "Only a running session can be completed.", status_now=training_session.status
            )
        training_session.status = SessionStatus.COMPLETED
        training_session.completed_at = now or utcnow()
        await self.sessions.session.flush()
        await publish_session(self.sessions.session, "session.completed", training_session)
        return training_session

    async def cancel_below_minimum(self, now: datetime | None = None) -> list[uuid.UUID]:
        """Cancel every session whose booking closed below its minimum (the sweep an
        operator or a timer runs). Each is re-checked under its lock."""
        now = now or utcnow()
        done: list[uuid.UUID] = []
        for session_id in await self.sessions.ids_below_minimum_after_closing(now):
            training_session = await self.sessions.lock(session_id)
            if (
                training_session.status in BOOKABLE_STATES
                and training_session.confirmed_count < training_session.minimum
            ):
                await self._cancel_locked(
                    training_session,
                    CancelReason.BELOW_MINIMUM,
                    "Fewer people than the minimum when booking closed.",
                    now,
                )
                done.append(session_id)
        return done

    async def events(
        self, principal: Principal, session_id: uuid.UUID, params: PageParams
    ) -> tuple[list[EnrollmentEvent], str | None]:
        await self.get_visible(principal, session_id)
        rows = await self.enrollments.list_events(session_id, params)
        return paginate(rows, params, lambda e: (e.id,))


def _as_text(value: Any) -> str | None:
    """A field's value as the event shows it (dates as ``YYYY-MM-DD``)."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
