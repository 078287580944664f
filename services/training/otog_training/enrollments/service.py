from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from otog_shared import metrics
from otog_shared.auth import Principal, ensure_visible, worker_of
from otog_shared.client_ids.service import id_conflict, refuse_taken_id
from otog_shared.errors import FieldError, Forbidden, NotFound, UnprocessableEntity
from otog_shared.pagination import PageParams, paginate
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from otog_training.courses.repository import CourseRepository
from otog_training.enrollments.batcher import SeatBatcher
from otog_training.enrollments.models import (
    AttendanceRecord,
    Enrollment,
    EnrollmentCancelReason,
    EnrollmentStatus,
    EventKind,
)
from otog_training.enrollments.repository import (
    BatchBooking,
    EnrollmentFilter,
    EnrollmentRepository,
)
from otog_training.enrollments.schemas import (
    AttendanceCreate,
    CourseProgress,
    EnrollmentCancel,
    EnrollmentComplete,
    EnrollmentCreate,
    GroupProgress,
)
from otog_training.enrollments.seats import event_row, fill_free_seats
from otog_training.events import publish_enrollments, publish_session
from otog_training.problems import (
    AlreadyEnrolled,
    DuplicateCertificateNumber,
    EnrollmentClosed,
    GroupNotEligible,
    NotAGroupMember,
    UnknownGroup,
    UnknownWorker,
    WrongState,
)
from otog_training.registry import RegistryGateway
from otog_training.sessions.models import BOOKABLE_STATES, SessionStatus, TrainingSession
from otog_training.sessions.repository import SessionRepository
from otog_training.timeutil import BANGKOK, buddhist_year, in_bangkok, utcnow

# A worker's second live enrolment in a session breaks this index.
LIVE_ENROLMENT_INDEX = "uq_enrollments_live_worker"

BOOKINGS = metrics.counter(
    "otog_training_bookings_total",
    "Seat bookings committed, by outcome: confirmed (a seat) or waitlisted.",
    ("outcome",),
)


class AnswerKeeper(Protocol):
    """A booking's answer, stored by the transaction that books it when that is not
    the request's own (a batch led by another request)."""

    async def write(self, db: AsyncSession, enrollment: Enrollment) -> None:
        """Store the answer for ``enrollment`` in ``db``'s transaction."""

    def committed(self) -> None:
        """That transaction committed the booking and its stored answer."""


class Bookable(Protocol):
    """What decides whether a session takes bookings (a session, or what a booking
    read of it before it queued)."""

    @property
    def status(self) -> str: ...

    @property
    def enrollment_closes_at(self) -> datetime: ...


@dataclass(frozen=True)
class SeatBooking:
    """A booking whose checks have passed, waiting for its seat or queue place."""

    enrollment_id: uuid.UUID
    session_id: uuid.UUID
    worker_id: uuid.UUID
    group_id: uuid.UUID | None
    now: datetime
    answer: AnswerKeeper | None

    def enrolled(self, status: str, position: int | None) -> Enrollment:
        return Enrollment(
            id=self.enrollment_id,
            session_id=self.session_id,
            worker_id=self.worker_id,
            group_id=self.group_id,
            status=status,
            waitlist_position=position,
            enrolled_at=self.now,
            confirmed_at=self.now if status == EnrollmentStatus.CONFIRMED else None,
            days_present=0,
        )


@dataclass(frozen=True)
class Booked:
    enrollment: Enrollment
    # Its answer was stored (and committed) with it.
    answered: bool


# Attendance and completion are recorded once the training is under way.
TEACHING_STATES = frozenset({SessionStatus.RUNNING, SessionStatus.COMPLETED})


class EnrollmentService:
    def __init__(
        self,
        enrollments: EnrollmentRepository,
        sessions: SessionRepository,
        courses: CourseRepository,
    ) -> None:
        self.enrollments = enrollments
        self.sessions = sessions
        self.courses = courses

    # --- reading -------------------------------------------------------------

    async def _visible_session(
        self, principal: Principal, session_id: uuid.UUID
    ) -> TrainingSession:
        training_session = await self.sessions.get(session_id)
        if training_session is None:
            raise NotFound("Training session not found.")
        ensure_visible(principal, training_session.province_code, "Training session")
        return training_session

    async def get_visible(
        self, principal: Principal, enrollment_id: uuid.UUID
    ) -> tuple[Enrollment, TrainingSession]:
        enrollment = await self.enrollments.get(enrollment_id)
        if enrollment is None:
            raise NotFound("Enrolment not found.")
        training_session = await self.sessions.get(enrollment.session_id)
        assert training_session is not None  # a foreign key
        # Another province's enrolments are as invisible as its sessions.
        ensure_visible(principal, training_session.province_code, "Enrolment")
        return enrollment, training_session

    async def page(
        self, principal: Principal, flt: EnrollmentFilter, params: PageParams
    ) -> tuple[list[Enrollment], str | None]:
        if flt.session_id is not None:
            await self._visible_session(principal, flt.session_id)
        if principal.province is not None:
            flt = EnrollmentFilter(
                session_id=flt.session_id,
                worker_id=flt.worker_id,
                group_id=flt.group_id,
                status=flt.status,
                province_code=principal.province,
            )
        rows = await self.enrollments.page(flt, params)
        return paginate(rows, params, lambda e: (e.enrolled_at.isoformat(), str(e.id)))

    async def of_worker(
        self, principal: Principal, status: str | None, params: PageParams
    ) -> tuple[list[Enrollment], str | None]:
        """The signed-in worker's own enrolments, in sessions of any province."""
        own = worker_of(principal)
        assert own is not None  # CurrentWorker
        rows = await self.enrollments.page(EnrollmentFilter(worker_id=own, status=status), params)
        return paginate(rows, params, lambda e: (e.enrolled_at.isoformat(), str(e.id)))

    async def attendance(
        self, principal: Principal, enrollment_id: uuid.UUID
    ) -> tuple[Enrollment, list[AttendanceRecord]]:
        enrollment, _ = await self.get_visible(principal, enrollment_id)
        return enrollment, await self.enrollments.attendance(enrollment.id)

    async def group_progress(self, principal: Principal, group_id: uuid.UUID) -> GroupProgress:
        rows, enrolled, completed = await self.enrollments.group_progress(
            group_id, principal.province
        )
        return GroupProgress(
            group_id=group_id,
            members_enrolled=enrolled,
            members_completed=completed,
            courses=[
                CourseProgress(
                    course_id=r.course_id,
                    course_code=r.code,
                    title_th=r.title_th,
                    title_en=r.title_en,
                    members_enrolled=r.enrolled,
                    members_completed=r.completed,
                )
                for r in rows
            ],
        )

    # --- booking -------------------------------------------------------------

    @staticmethod
    def _ensure_bookable(training_session: Bookable, now: datetime) -> None:
        if training_session.status not in BOOKABLE_STATES:
            raise EnrollmentClosed(
                f"The session is {training_session.status}; it takes no more bookings.",
                status_now=training_session.status,
            )
        if now >= training_session.enrollment_closes_at:
            raise EnrollmentClosed(
                "Booking for this session has closed.",
                closed_at=in_bangkok(training_session.enrollment_closes_at).isoformat(),
            )

    async def enroll(
        self,
        principal: Principal,
        session_id: uuid.UUID,
        data: EnrollmentCreate,
        registry: RegistryGateway,
        now: datetime | None = None,
        *,
        batcher: SeatBatcher[SeatBooking, Booked] | None = None,
        answer: AnswerKeeper | None = None,
    ) -> Enrollment:
        """Book a seat or a place in the queue. With ``batcher``, the booking is made
        together with the other bookings of the session waiting in this process, in
        one transaction that also stores each one's ``answer``."""
        now = now or utcnow()
        worker_id = self._booked_worker(principal, data)
        check = await self.enrollments.booking_check(session_id, worker_id)
        if check is None:
            raise NotFound("Training session not found.")
        ensure_visible(principal, check.province_code, "Training session")
        self._ensure_bookable(check, now)
        if check.worker_enrolled:
            raise AlreadyEnrolled("This worker is already enrolled in this session.")

        # The registry is asked before anything is written or locked: when it is
        # down the request fails with 503 and leaves nothing behind, and no row
        # lock is held across a network call.
        await self._check_with_registry(worker_id, data.group_id, registry)

        booking = SeatBooking(
            enrollment_id=data.id or uuid.uuid4(),
            session_id=session_id,
            worker_id=worker_id,
            group_id=data.group_id,
            now=now,
            answer=answer,
        )
        if batcher is None:
            booked = await self._book_alone(booking)
        else:
            booked = await batcher.book(
                session_id,
                booking,
                self.enrollments.session.commit,
                self.book_batch,
                lambda: self._book_alone(booking),
            )
        if booked.answered and answer is not None:
            answer.committed()
        return booked.enrollment

    async def _book_alone(self, booking: SeatBooking) -> Booked:
        """One booking in the request's own transaction."""
        session_id, now = booking.session_id, booking.now
        # Seats and queue positions are decided under the session's row lock, so
        # concurrent bookings in any number of processes take turns. The lock is
        # taken first and alone, as for a batch: the booking statement, started once
        # it is granted, sees everything committed before it (a capacity lowered
        # meanwhile, the enrolments of the bookings before), which a lock taken
        # inside the statement would not. Then one statement does the rest.
        training_session = await self.sessions.lock(session_id)
        self._ensure_bookable(training_session, now)
        try:
            booked = await self.enrollments.book(
                enrollment_id=booking.enrollment_id,
                session_id=session_id,
                worker_id=booking.worker_id,
                group_id=booking.group_id,
                now=now,
            )
        except IntegrityError as exc:
            refuse_taken_id(exc)
            # Only the worker's second live enrolment is theirs to hear about; any
            # other violation is a fault of ours and stays a 500.
            if LIVE_ENROLMENT_INDEX in str(exc.orig):
                raise AlreadyEnrolled("This worker is already enrolled in this session.") from exc
            raise
        if booked is None:
            # Not bookable under the lock was refused above, with its reason.
            raise EnrollmentClosed("The session takes no more bookings.")
        status, position, confirmed_the_session = booked
        db = self.enrollments.session
        metrics.count_on_commit(
            db,
            BOOKINGS,
            outcome="confirmed" if status == EnrollmentStatus.CONFIRMED else "waitlisted",
        )
        await publish_enrollments(
            db,
            training_session,
            [
                event_row(
                    session_id,
                    booking.enrollment_id,
                    booking.worker_id,
                    EventKind(f"enrollment.{status}"),
                    waitlist_position=position,
                    now=now,
                )
            ],
        )
        if confirmed_the_session:
            # The booking statement changed the row: read it as it is now (already
            # locked by that statement in this transaction).
            await publish_session(db, "session.confirmed", await self.sessions.lock(session_id))
        return Booked(booking.enrolled(status, position), answered=False)

    async def book_batch(self, bookings: Sequence[SeatBooking]) -> list[Booked | Exception]:
        """Bookings of one session (in arrival order) in this service's transaction,
        which the caller commits: the seats, the queue places, the events and each
        booking's stored answer. Each booking's outcome, or the problem it answers
        with (the session closed, the worker enrolled already, the id taken). All or
        nothing: on an error the transaction is back where it was before."""
        session_id = bookings[0].session_id
        db = self.enrollments.session
        outcomes: list[Booked | Exception] = []
        counted: Counter[str] = Counter()
        async with db.begin_nested():
            # Locked first and alone: the booking statement, run after the lock is
            # granted, sees every enrolment committed before (see _BOOK_BATCH).
            training_session = await self.sessions.lock(session_id)
            bookable: list[SeatBooking] = []
            closed: dict[int, Exception] = {}
            for index, booking in enumerate(bookings):
                try:
                    self._ensure_bookable(training_session, booking.now)
                    bookable.append(booking)
                except EnrollmentClosed as exc:
                    closed[index] = exc
            results, confirmed_the_session = (
                await self.enrollments.book_batch(
                    session_id,
                    [
                        BatchBooking(b.enrollment_id, b.worker_id, b.group_id, b.now)
                        for b in bookable
                    ],
                )
                if bookable
                else ([], False)
            )
            decided = iter(zip(bookable, results, strict=True))
            events: list[dict[str, Any]] = []
            for index in range(len(bookings)):
                if index in closed:
                    outcomes.append(closed[index])
                    continue
                booking, result = next(decided)
                if result.outcome == "already-enrolled":
                    outcomes.append(
                        AlreadyEnrolled("This worker is already enrolled in this session.")
                    )
                    continue
                if result.outcome == "id-taken":
                    outcomes.append(id_conflict())
                    continue
                enrollment = booking.enrolled(result.outcome, result.waitlist_position)
                counted[result.outcome] += 1
                events.append(
                    event_row(
                        session_id,
                        enrollment.id,
                        enrollment.worker_id,
                        EventKind(f"enrollment.{result.outcome}"),
                        waitlist_position=result.waitlist_position,
                        now=booking.now,
                    )
                )
                if booking.answer is not None:
                    await booking.answer.write(db, enrollment)
                outcomes.append(Booked(enrollment, answered=booking.answer is not None))
            await publish_enrollments(db, training_session, events)
            if confirmed_the_session:
                await publish_session(db, "session.confirmed", await self.sessions.lock(session_id))
        # Counted only once the batch stands (a failed one left nothing to count).
        for outcome, amount in counted.items():
            metrics.count_on_commit(db, BOOKINGS, amount, outcome=outcome)
        return outcomes

    @staticmethod
    def _booked_worker(principal: Principal, data: EnrollmentCreate) -> uuid.UUID:
        """Whom the seat is for: a worker signed in with `self` books only for themselves
        (`worker_id` omitted or their own); an officer names the worker."""
        own = worker_of(principal)
        if own is not None:
            if data.worker_id is not None and data.worker_id != own:
                raise Forbidden("A worker may book a seat only for themselves.")
            return own
        if data.worker_id is None:
            raise UnprocessableEntity(
                "Name the worker to enrol.",
                errors=[FieldError(field="body.worker_id", message="required")],
            )
        return data.worker_id

    @staticmethod
    async def _check_with_registry(
        worker_id: uuid.UUID, group_id: uuid.UUID | None, registry: RegistryGateway
    ) -> None:
        """The worker exists; with a group, the worker is a current member of it and
        the group may still take part. One call answers all of that in the usual
        case (the worker's memberships carry each group's stage); the group itself
        is looked up only to tell an unknown group from a group the worker is not in.
        """
        if group_id is None:
            if await registry.get_worker(worker_id) is None:
                raise _unknown_worker()
            return
        memberships = await registry.get_memberships(worker_id)
        if memberships is None:
            raise _unknown_worker()
        current = next((m for m in memberships if m.current and m.group_id == group_id), None)
        if current is None:
            if await registry.get_group(group_id) is None:
                raise UnknownGroup(
                    "The registry knows no group with this id.",
                    errors=[FieldError(field="body.group_id", message="unknown group")],
                )
            raise NotAGroupMember(
                "The worker is not a current member of this group.",
                errors=[
                    FieldError(field="body.group_id", message="the worker is not a current member")
                ],
            )
        if not current.eligible:
            raise GroupNotEligible(
                f"The group is {current.group_status} and cannot train in the programme.",
                errors=[
                    FieldError(field="body.group_id", message=f"group is {current.group_status}")
                ],
            )

    async def cancel(
        self,
        principal: Principal,
        enrollment_id: uuid.UUID,
        data: EnrollmentCancel,
        now: datetime | None = None,
    ) -> Enrollment:
        now = now or utcnow()
        own = worker_of(principal)
        if own is None:
            enrollment, _ = await self.get_visible(principal, enrollment_id)
        else:
            # A worker's own seat is theirs in any province (an officer may have booked
            # it elsewhere); someone else's is as invisible as another province's.
            found = await self.enrollments.get(enrollment_id)
            if found is None or found.worker_id != own:
                raise NotFound("Enrolment not found.")
            enrollment = found
        # Always the session first, then its enrolments: one lock order, no deadlocks.
        training_session = await self.sessions.lock(enrollment.session_id)
        enrollment = await self.enrollments.lock(enrollment_id)
        if enrollment.status not in (EnrollmentStatus.CONFIRMED, EnrollmentStatus.WAITLISTED):
            raise WrongState(
                f"A {enrollment.status} enrolment cannot be cancelled.",
                status_now=enrollment.status,
            )
        if training_session.status in (SessionStatus.COMPLETED, SessionStatus.CANCELLED):
            raise WrongState(
                f"The session is {training_session.status}.", status_now=training_session.status
            )
        was_confirmed = enrollment.status == EnrollmentStatus.CONFIRMED
        session_status = training_session.status
        freed_position = enrollment.waitlist_position
        enrollment.status = EnrollmentStatus.CANCELLED
        enrollment.waitlist_position = None
        enrollment.cancelled_at = now
        enrollment.cancel_reason = EnrollmentCancelReason.WITHDRAWN
        enrollment.cancel_note = data.note
        await self.enrollments.flush()
        events = [
            event_row(
                training_session.id,
                enrollment.id,
                enrollment.worker_id,
                EventKind.CANCELLED,
                reason=str(EnrollmentCancelReason.WITHDRAWN),
                note=data.note,
                now=now,
            )
        ]
        if was_confirmed:
            training_session.confirmed_count -= 1
            events += await fill_free_seats(self.enrollments, training_session, now)
        elif freed_position is not None:
            await self.enrollments.close_gap(training_session.id, freed_position)
            training_session.waitlist_count -= 1
        await self.enrollments.add_events(events)
        await self.enrollments.flush()
        await publish_enrollments(
            self.enrollments.session,
            training_session,
            events,
            previous_status={
                enrollment.id: EnrollmentStatus.CONFIRMED
                if was_confirmed
                else EnrollmentStatus.WAITLISTED
            },
        )
        if session_status != training_session.status == SessionStatus.CONFIRMED:
            await publish_session(self.enrollments.session, "session.confirmed", training_session)
        return enrollment

    # --- attendance and completion -------------------------------------------

    async def record_attendance(
        self,
        principal: Principal,
        enrollment_id: uuid.UUID,
        data: AttendanceCreate,
        now: datetime | None = None,
    ) -> Enrollment:
        now = now or utcnow()
        _, training_session = await self.get_visible(principal, enrollment_id)
        enrollment = await self.enrollments.lock(enrollment_id)
        self._ensure_teaching(training_session, enrollment)
        if not training_session.starts_on <= data.attended_on <= training_session.ends_on:
            raise UnprocessableEntity(
                "The day is not a day of this session.",
                errors=[
                    FieldError(
                        field="body.attended_on",
                        message=(
                            f"outside {training_session.starts_on.isoformat()}"
                            f"..{training_session.ends_on.isoformat()}"
                        ),
                    )
                ],
            )
        enrollment.days_present = await self.enrollments.record_attendance(
            enrollment.id, data.attended_on, data.present, now
        )
        await self.enrollments.flush()
        return enrollment

    @staticmethod
    def _ensure_teaching(training_session: TrainingSession, enrollment: Enrollment) -> None:
        if training_session.status not in TEACHING_STATES:
            raise WrongState(
                f"The session is {training_session.status}; attendance and completion are "
                "recorded once it is running.",
                status_now=training_session.status,
            )
        if enrollment.status not in (EnrollmentStatus.CONFIRMED, EnrollmentStatus.COMPLETED):
            raise WrongState(
                f"A {enrollment.status} enrolment has no seat in the session.",
                status_now=enrollment.status,
            )

    async def complete(
        self,
        principal: Principal,
        enrollment_id: uuid.UUID,
        data: EnrollmentComplete,
        now: datetime | None = None,
    ) -> Enrollment:
        now = now or utcnow()
        _, training_session = await self.get_visible(principal, enrollment_id)
        enrollment = await self.enrollments.lock(enrollment_id)
        self._ensure_teaching(training_session, enrollment)
        if enrollment.status == EnrollmentStatus.COMPLETED:
            raise WrongState(
                "This enrolment is already completed.",
                certificate_number=enrollment.certificate_number,
            )
        if enrollment.days_present < 1:
            raise WrongState("No attendance is recorded for this enrolment.")
        completed_on = data.completed_on or now.astimezone(BANGKOK).date()
        if completed_on < training_session.starts_on:
            raise UnprocessableEntity(
                "Completion cannot come before the session starts.",
                errors=[FieldError(field="body.completed_on", message="before starts_on")],
            )
        number = data.certificate_number or await self._issue_certificate_number(
            training_session, completed_on
        )
        if await self.enrollments.certificate_taken(number):
            raise DuplicateCertificateNumber("This certificate number is already recorded.")
        enrollment.status = EnrollmentStatus.COMPLETED
        enrollment.completed_at = now
        enrollment.completed_on = completed_on
        enrollment.certificate_number = number
        try:
            await self.enrollments.flush()
        except IntegrityError as exc:  # the same number recorded concurrently
            raise DuplicateCertificateNumber(
                "This certificate number is already recorded."
            ) from exc
        told = [
            event_row(
                training_session.id,
                enrollment.id,
                enrollment.worker_id,
                EventKind.COMPLETED,
                note=number,
                now=now,
            )
        ]
        await self.enrollments.add_events(told)
        await publish_enrollments(self.enrollments.session, training_session, told)
        return enrollment

    async def _issue_certificate_number(
        self, training_session: TrainingSession, completed_on: date
    ) -> str:
        course = await self.courses.get(training_session.course_id)
        assert course is not None  # a foreign key
        serial = await self.enrollments.next_certificate_serial()
        return f"{course.code}-{buddhist_year(completed_on)}-{serial:06d}"


def _unknown_worker() -> UnknownWorker:
    return UnknownWorker(
        "The registry knows no worker with this id.",
        errors=[FieldError(field="body.worker_id", message="unknown worker")],
    )
