from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from otog_shared.pagination import PageParams, as_datetime, as_int, as_uuid, unpack_cursor
from sqlalchemy import DateTime, distinct, func, insert, literal, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from otog_training.courses.models import Course
from otog_training.enrollments.models import (
    AttendanceRecord,
    Enrollment,
    EnrollmentEvent,
    EnrollmentStatus,
    certificate_number_seq,
)
from otog_training.sessions.models import TrainingSession


@dataclass(frozen=True)
class BookingCheck:
    province_code: str
    status: str
    enrollment_closes_at: datetime
    worker_enrolled: bool


_BOOKING_CHECK = text(
    """
    SELECT s.province_code, s.status, s.enrollment_closes_at,
           EXISTS (
               SELECT FROM enrollments e
               WHERE e.session_id = s.id AND e.worker_id = :worker_id
                 AND e.status <> 'cancelled'
           ) AS worker_enrolled
    FROM training_sessions s
    WHERE s.id = :session_id
    """
).columns(enrollment_closes_at=DateTime(timezone=True))


@dataclass(frozen=True)
class EnrollmentFilter:
    session_id: uuid.UUID | None = None
    worker_id: uuid.UUID | None = None
    group_id: uuid.UUID | None = None
    status: str | None = None
    # Only enrolments in sessions of this province (a provincial client's view).
    province_code: str | None = None


@dataclass(frozen=True)
class CourseProgressRow:
    course_id: uuid.UUID
    code: str
    title_th: str
    title_en: str
    enrolled: int
    completed: int


@dataclass(frozen=True)
class Promoted:
    enrollment_id: uuid.UUID
    worker_id: uuid.UUID
    from_position: int


@dataclass(frozen=True)
class Cancelled:
    enrollment_id: uuid.UUID
    worker_id: uuid.UUID
    previous_status: str


# A booking in one statement, for a transaction that has already locked the
# session's row (then this statement, started after the lock was granted, sees
# every change committed before it: a lock taken only inside it would leave the
# rest of the statement on an older snapshot, and a capacity lowered meanwhile
# broke ``ck_training_sessions_confirmed_count``; the lock inside is a guard):
# take a seat or the next place in the queue, record the enrolment and its event.
# One statement after the lock, not a round trip per step (under load each round
# trip waits for a busy event loop, and every other booking of the session waits
# for the lock). No row when the session does not take bookings; a second live
# enrolment of the same worker fails on ``uq_enrollments_live_worker``.
_BOOK = text(
    """
    WITH current AS (
        SELECT id, capacity, minimum, status, confirmed_count, waitlist_count,
               confirmed_count < capacity AS seat
        FROM training_sessions
        WHERE id = :session_id
        FOR UPDATE
    ), bookable AS (
        SELECT * FROM current
        WHERE status IN ('open', 'confirmed')
          AND :now < (SELECT enrollment_closes_at FROM training_sessions WHERE id = :session_id)
    ), counted AS (
        UPDATE training_sessions t
        SET confirmed_count = t.confirmed_count + CASE WHEN b.seat THEN 1 ELSE 0 END,
            waitlist_count = t.waitlist_count + CASE WHEN b.seat THEN 0 ELSE 1 END,
            -- Reaching the minimum confirms the session for good.
            status = CASE WHEN b.seat AND t.status = 'open' AND t.confirmed_count + 1 >= t.minimum
                          THEN 'confirmed' ELSE t.status END,
            confirmed_at = CASE WHEN b.seat AND t.status = 'open'
                                     AND t.confirmed_count + 1 >= t.minimum
                                THEN CAST(:now AS timestamptz) ELSE t.confirmed_at END
        FROM bookable b
        WHERE t.id = b.id
        RETURNING b.seat, b.waitlist_count + 1 AS position,
                  b.seat AND b.status = 'open' AND b.confirmed_count + 1 >= b.minimum
                      AS confirmed_the_session
    ), enrolled AS (
        INSERT INTO enrollments (
            id, session_id, worker_id, group_id, status, waitlist_position,
            enrolled_at, confirmed_at, days_present
        )
        SELECT :enrollment_id, :session_id, :worker_id, :group_id,
               CASE WHEN seat THEN 'confirmed' ELSE 'waitlisted' END,
               CASE WHEN seat THEN NULL ELSE position END,
               :now, CASE WHEN seat THEN CAST(:now AS timestamptz) END, 0
        FROM counted
        RETURNING id, session_id, worker_id, status, waitlist_position
    ), told AS (
        INSERT INTO enrollment_events (
            enrollment_id, session_id, worker_id, kind, waitlist_position, occurred_at
        )
        SELECT id, session_id, worker_id,
               CASE WHEN status = 'confirmed' THEN 'enrollment.confirmed'
                    ELSE 'enrollment.waitlisted' END,
               waitlist_position, :now
        FROM enrolled
    )
    SELECT enrolled.status, enrolled.waitlist_position, counted.confirmed_the_session
    FROM enrolled, counted
    """
)


# Many bookings of one session in one statement, in arrival order (``ord``), for a
# transaction that has already locked the session's row (a fresh statement then
# sees every enrolment committed before the lock was granted; the lock inside is
# only a guard). A booking is refused, and nothing written for it, when its id
# names an enrolment already (``id-taken``) or its worker is enrolled already, in
# the table or earlier in the batch (``already-enrolled``). The others get the
# free seats in order, then the next places in the queue: the same rules as
# ``_BOOK``, applied n times at once. The session is confirmed by the first seat
# that reaches its minimum, at that booking's time.
_BOOK_BATCH = text(
    """
    WITH batch AS (
        SELECT b.id, b.worker_id, b.group_id, b.booked_at, b.ord
        FROM unnest(CAST(:ids AS uuid[]), CAST(:worker_ids AS uuid[]),
                    CAST(:group_ids AS uuid[]), CAST(:booked_at AS timestamptz[]))
             WITH ORDINALITY AS b(id, worker_id, group_id, booked_at, ord)
    ), current AS (
        SELECT id, minimum, status, confirmed_count, waitlist_count,
               GREATEST(capacity - confirmed_count, 0) AS free
        FROM training_sessions
        WHERE id = :session_id
        FOR UPDATE
    ), refused AS (
        SELECT b.ord,
               CASE WHEN EXISTS (SELECT 1 FROM enrollments e WHERE e.id = b.id)
                         OR EXISTS (SELECT 1 FROM batch d WHERE d.id = b.id AND d.ord < b.ord)
                    THEN 'id-taken' ELSE 'already-enrolled' END AS outcome
        FROM batch b
        WHERE EXISTS (SELECT 1 FROM enrollments e WHERE e.id = b.id)
           OR EXISTS (SELECT 1 FROM enrollments e
                      WHERE e.session_id = :session_id AND e.worker_id = b.worker_id
                        AND e.status <> 'cancelled')
           OR EXISTS (SELECT 1 FROM batch d
                      WHERE (d.worker_id = b.worker_id OR d.id = b.id) AND d.ord < b.ord)
    ), numbered AS (
        SELECT b.*, row_number() OVER (ORDER BY b.ord) AS n
        FROM batch b
        WHERE b.ord NOT IN (SELECT ord FROM refused)
    ), decided AS (
        SELECT x.*, x.n <= c.free AS seat,
               CASE WHEN x.n > c.free THEN c.waitlist_count + x.n - c.free END AS position,
               x.n <= c.free AND c.status = 'open' AND c.confirmed_count + x.n >= c.minimum
                   AS reaches_minimum
        FROM numbered x CROSS JOIN current c
    ), totals AS (
        SELECT count(*) FILTER (WHERE seat) AS seats,
               count(*) FILTER (WHERE NOT seat) AS queued,
               (array_agg(booked_at ORDER BY n) FILTER (WHERE reaches_minimum))[1] AS confirmed_at
        FROM decided
    ), counted AS (
        UPDATE training_sessions t
        SET confirmed_count = t.confirmed_count + s.seats,
            waitlist_count = t.waitlist_count + s.queued,
            -- Reaching the minimum confirms the session for good.
            status = CASE WHEN s.confirmed_at IS NOT NULL THEN 'confirmed' ELSE t.status END,
            confirmed_at = COALESCE(s.confirmed_at, t.confirmed_at)
        FROM totals s
        WHERE t.id = :session_id AND s.seats + s.queued > 0
        RETURNING s.confirmed_at IS NOT NULL AS confirmed_the_session
    ), enrolled AS (
        INSERT INTO enrollments (
            id, session_id, worker_id, group_id, status, waitlist_position,
            enrolled_at, confirmed_at, days_present
        )
        SELECT id, :session_id, worker_id, group_id,
               CASE WHEN seat THEN 'confirmed' ELSE 'waitlisted' END, position,
               booked_at, CASE WHEN seat THEN booked_at END, 0
        FROM decided
        ORDER BY ord
        RETURNING id, session_id, worker_id, status, waitlist_position, enrolled_at
    ), told AS (
        INSERT INTO enrollment_events (
            enrollment_id, session_id, worker_id, kind, waitlist_position, occurred_at
        )
        SELECT e.id, e.session_id, e.worker_id,
               CASE WHEN e.status = 'confirmed' THEN 'enrollment.confirmed'
                    ELSE 'enrollment.waitlisted' END,
               e.waitlist_position, e.enrolled_at
        FROM enrolled e JOIN decided d ON d.id = e.id
        ORDER BY d.ord
    )
    SELECT b.ord, COALESCE(r.outcome, e.status) AS outcome, e.waitlist_position,
           COALESCE((SELECT confirmed_the_session FROM counted), false)
               AS confirmed_the_session
    FROM batch b
    LEFT JOIN refused r ON r.ord = b.ord
    LEFT JOIN enrolled e ON e.id = b.id AND r.ord IS NULL
    ORDER BY b.ord
    """
)


@dataclass(frozen=True)
class BatchBooking:
    enrollment_id: uuid.UUID
    worker_id: uuid.UUID
    group_id: uuid.UUID | None
    now: datetime


@dataclass(frozen=True)
class BatchBooked:
    """One booking's outcome: ``confirmed``, ``waitlisted`` (with its position),
    ``already-enrolled`` or ``id-taken``."""

    outcome: str
    waitlist_position: int | None


class EnrollmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def book_batch(
        self, session_id: uuid.UUID, bookings: list[BatchBooking]
    ) -> tuple[list[BatchBooked], bool]:
        """Each booking's outcome, in order, and whether one of the seats confirmed
        the session. The caller holds the session's row lock (see ``_BOOK_BATCH``)."""
        rows = (
            await self.session.execute(
                _BOOK_BATCH,
                {
                    "session_id": session_id,
                    "ids": [b.enrollment_id for b in bookings],
                    "worker_ids": [b.worker_id for b in bookings],
                    "group_ids": [b.group_id for b in bookings],
                    "booked_at": [b.now for b in bookings],
                },
            )
        ).all()
        return (
            [BatchBooked(str(row[1]), row[2]) for row in rows],
            any(bool(row[3]) for row in rows),
        )

    async def book(
        self,
        *,
        enrollment_id: uuid.UUID,
        session_id: uuid.UUID,
        worker_id: uuid.UUID,
        group_id: uuid.UUID | None,
        now: datetime,
    ) -> tuple[str, int | None, bool] | None:
        """Seat or queue place for the worker, and whether this seat confirmed the
        session; None when the session no longer takes bookings. The caller holds the
        session's row lock (see ``_BOOK``). Raises IntegrityError when the worker is
        already enrolled."""
        row = (
            await self.session.execute(
                _BOOK,
                {
                    "enrollment_id": enrollment_id,
                    "session_id": session_id,
                    "worker_id": worker_id,
                    "group_id": group_id,
                    "now": now,
                },
            )
        ).first()
        return (str(row[0]), row[1], bool(row[2])) if row else None

    async def get(self, enrollment_id: uuid.UUID) -> Enrollment | None:
        return await self.session.get(Enrollment, enrollment_id)

    async def lock(self, enrollment_id: uuid.UUID) -> Enrollment:
        result = await self.session.execute(
            select(Enrollment)
            .where(Enrollment.id == enrollment_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one()

    async def booking_check(
        self, session_id: uuid.UUID, worker_id: uuid.UUID
    ) -> BookingCheck | None:
        """What a booking checks before it queues, in one statement: the session's
        province, status and closing time, and whether the worker holds a live
        enrolment in it. None when there is no such session."""
        row = (
            await self.session.execute(
                _BOOKING_CHECK, {"session_id": session_id, "worker_id": worker_id}
            )
        ).one_or_none()
        if row is None:
            return None
        return BookingCheck(
            province_code=row.province_code,
            status=row.status,
            enrollment_closes_at=row.enrollment_closes_at,
            worker_enrolled=row.worker_enrolled,
        )

    async def add(self, enrollment: Enrollment) -> Enrollment:
        self.session.add(enrollment)
        await self.session.flush()
        return enrollment

    async def flush(self) -> None:
        await self.session.flush()

    async def promote_waitlisted(
        self, session_id: uuid.UUID, seats: int, now: datetime
    ) -> list[Promoted]:
        """The first ``seats`` people in the queue get a seat, and everybody behind
        them moves up by as many places: positions stay 1..n. The caller holds the
        session's lock, so the queue cannot change meanwhile."""
        head = (
            select(Enrollment.id, Enrollment.waitlist_position)
            .where(
                Enrollment.session_id == session_id,
                Enrollment.status == EnrollmentStatus.WAITLISTED,
                Enrollment.waitlist_position <= seats,
            )
            .with_for_update()
            .cte("head")
        )
        result = await self.session.execute(
            update(Enrollment)
            .where(Enrollment.id == head.c.id)
            .values(status=EnrollmentStatus.CONFIRMED, waitlist_position=None, confirmed_at=now)
            .returning(Enrollment.id, Enrollment.worker_id, head.c.waitlist_position)
            .execution_options(synchronize_session="fetch")
        )
        promoted = sorted(
            (Promoted(row[0], row[1], row[2]) for row in result.all()),
            key=lambda p: p.from_position,
        )
        if promoted:
            await self.close_gap(session_id, len(promoted), by=len(promoted))
        return promoted

    async def close_gap(self, session_id: uuid.UUID, freed_position: int, *, by: int = 1) -> None:
        """Everybody behind ``freed_position`` moves up ``by`` places (one statement;
        the unique constraint on positions is checked at its end)."""
        await self.session.execute(
            update(Enrollment)
            .where(
                Enrollment.session_id == session_id,
                Enrollment.status == EnrollmentStatus.WAITLISTED,
                Enrollment.waitlist_position > freed_position,
            )
            .values(waitlist_position=Enrollment.waitlist_position - by)
            .execution_options(synchronize_session="fetch")
        )

    async def cancel_all(
        self,
        session_id: uuid.UUID,
        statuses: list[str],
        *,
        reason: str,
        note: str | None,
        now: datetime,
    ) -> list[Cancelled]:
        """Cancel every enrolment of a session in ``statuses`` in one statement."""
        before = select(Enrollment.id, Enrollment.status).where(
            Enrollment.session_id == session_id, Enrollment.status.in_(statuses)
        )
        previous = {row.id: row.status for row in await self.session.execute(before)}
        result = await self.session.execute(
            update(Enrollment)
            .where(Enrollment.session_id == session_id, Enrollment.status.in_(statuses))
            .values(
                status=EnrollmentStatus.CANCELLED,
                waitlist_position=None,
                cancelled_at=now,
                cancel_reason=reason,
                cancel_note=note,
            )
            .returning(Enrollment.id, Enrollment.worker_id)
            .execution_options(synchronize_session="fetch")
        )
        return [Cancelled(row.id, row.worker_id, previous.get(row.id, "")) for row in result.all()]

    async def add_events(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(EnrollmentEvent), rows)

    async def tell_everyone(
        self,
        session_id: uuid.UUID,
        statuses: list[str],
        kind: str,
        *,
        changes: dict[str, Any],
        now: datetime,
    ) -> int:
        """One event for every enrolment of the session in ``statuses``, in booking
        order, written by one statement whatever the number of people."""
        people = (
            select(
                Enrollment.id,
                Enrollment.session_id,
                Enrollment.worker_id,
                literal(kind),
                Enrollment.waitlist_position,
                literal(changes, JSONB),
                literal(now, DateTime(timezone=True)),
            )
            .where(Enrollment.session_id == session_id, Enrollment.status.in_(statuses))
            .order_by(Enrollment.enrolled_at, Enrollment.id)
        )
        result = await self.session.execute(
            insert(EnrollmentEvent).from_select(
                [
                    "enrollment_id",
                    "session_id",
                    "worker_id",
                    "kind",
                    "waitlist_position",
                    "changes",
                    "occurred_at",
                ],
                people,
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def list_events(self, session_id: uuid.UUID, params: PageParams) -> list[EnrollmentEvent]:
        query = select(EnrollmentEvent).where(EnrollmentEvent.session_id == session_id)
        if params.after:
            (last_id,) = unpack_cursor(params.after, as_int)
            query = query.where(EnrollmentEvent.id > last_id)
        result = await self.session.execute(
            query.order_by(EnrollmentEvent.id).limit(params.limit + 1)
        )
        return list(result.scalars())

    async def page(self, flt: EnrollmentFilter, params: PageParams) -> list[Enrollment]:
        query = select(Enrollment)
        if flt.province_code is not None:
            query = query.join(TrainingSession, TrainingSession.id == Enrollment.session_id).where(
                TrainingSession.province_code == flt.province_code
            )
        if flt.session_id is not None:
            query = query.where(Enrollment.session_id == flt.session_id)
        if flt.worker_id is not None:
            query = query.where(Enrollment.worker_id == flt.worker_id)
        if flt.group_id is not None:
            query = query.where(Enrollment.group_id == flt.group_id)
        if flt.status is not None:
            query = query.where(Enrollment.status == flt.status)
        if params.after:
            enrolled_at, last_id = unpack_cursor(params.after, as_datetime, as_uuid)
            query = query.where(
                tuple_(Enrollment.enrolled_at, Enrollment.id) > (enrolled_at, last_id)
            )
        query = query.order_by(Enrollment.enrolled_at, Enrollment.id).limit(params.limit + 1)
        result = await self.session.execute(query)
        return list(result.scalars())

    async def record_attendance(
        self, enrollment_id: uuid.UUID, attended_on: date, present: bool, now: datetime
    ) -> int:
        """Record (or correct) one day; returns the days present now on record."""
        stmt = pg_insert(AttendanceRecord).values(
            enrollment_id=enrollment_id, attended_on=attended_on, present=present, recorded_at=now
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[AttendanceRecord.enrollment_id, AttendanceRecord.attended_on],
                set_={"present": present, "recorded_at": now},
            )
        )
        result = await self.session.execute(
            select(func.count()).where(
                AttendanceRecord.enrollment_id == enrollment_id, AttendanceRecord.present
            )
        )
        return int(result.scalar_one())

    async def attendance(self, enrollment_id: uuid.UUID) -> list[AttendanceRecord]:
        result = await self.session.execute(
            select(AttendanceRecord)
            .where(AttendanceRecord.enrollment_id == enrollment_id)
            .order_by(AttendanceRecord.attended_on)
        )
        return list(result.scalars())

    async def certificate_taken(self, number: str) -> bool:
        result = await self.session.execute(
            select(Enrollment.id).where(Enrollment.certificate_number == number).limit(1)
        )
        return result.first() is not None

    async def next_certificate_serial(self) -> int:
        result = await self.session.execute(select(certificate_number_seq.next_value()))
        return int(result.scalar_one())

    async def group_progress(
        self, group_id: uuid.UUID, province_code: str | None
    ) -> tuple[list[CourseProgressRow], int, int]:
        """Per course: distinct members enrolled (not cancelled) and completed; and
        the same two numbers across all courses."""
        live = Enrollment.status != EnrollmentStatus.CANCELLED
        done = Enrollment.status == EnrollmentStatus.COMPLETED
        base = (
            select(Enrollment)
            .join(TrainingSession, TrainingSession.id == Enrollment.session_id)
            .where(Enrollment.group_id == group_id)
        )
        if province_code is not None:
            base = base.where(TrainingSession.province_code == province_code)
        sub = base.subquery()
        per_course = (
            select(
                Course.id,
                Course.code,
                Course.title_th,
                Course.title_en,
                func.count(distinct(Enrollment.worker_id)).filter(live),
                func.count(distinct(Enrollment.worker_id)).filter(done),
            )
            .select_from(Enrollment)
            .join(TrainingSession, TrainingSession.id == Enrollment.session_id)
            .join(Course, Course.id == TrainingSession.course_id)
            .where(Enrollment.id.in_(select(sub.c.id)))
            .group_by(Course.id)
            .order_by(Course.code)
        )
        rows = [
            CourseProgressRow(r[0], r[1], r[2], r[3], int(r[4]), int(r[5]))
            for r in (await self.session.execute(per_course)).all()
        ]
        totals = (
            await self.session.execute(
                select(
                    func.count(distinct(Enrollment.worker_id)).filter(live),
                    func.count(distinct(Enrollment.worker_id)).filter(done),
                ).where(Enrollment.id.in_(select(sub.c.id)))
            )
        ).one()
        return rows, int(totals[0]), int(totals[1])
