from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Sequence,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from otog_training.models import Base

# Numbers of certificates this service issues itself (when the office gives none).
certificate_number_seq = Sequence("certificate_number_seq", metadata=Base.metadata)


class EnrollmentStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


# An enrolment in these states holds the worker's place in the session.
LIVE_STATUSES = frozenset(
    {EnrollmentStatus.CONFIRMED, EnrollmentStatus.WAITLISTED, EnrollmentStatus.COMPLETED}
)


class EnrollmentCancelReason(enum.StrEnum):
    WITHDRAWN = "withdrawn"
    SESSION_CANCELLED = "session_cancelled"
    WAITLIST_CLOSED = "waitlist_closed"


class EventKind(enum.StrEnum):
    CONFIRMED = "enrollment.confirmed"
    WAITLISTED = "enrollment.waitlisted"
    PROMOTED = "enrollment.promoted"
    CANCELLED = "enrollment.cancelled"
    SESSION_CANCELLED = "session.cancelled"
    SESSION_CHANGED = "session.changed"
    WAITLIST_CLOSED = "session.waitlist_closed"
    COMPLETED = "enrollment.completed"


class Enrollment(Base):
    """A worker's booking in a session: a seat (confirmed) or a place in the queue."""

    __tablename__ = "enrollments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('confirmed', 'waitlisted', 'cancelled', 'completed')", name="status"
        ),
        # A position exactly while waiting, and positions count from 1.
        CheckConstraint(
            "(status = 'waitlisted') = (waitlist_position IS NOT NULL)"
            " AND (waitlist_position IS NULL OR waitlist_position >= 1)",
            name="waitlist_position",
        ),
        CheckConstraint("(status = 'completed') = (completed_at IS NOT NULL)", name="completed"),
        CheckConstraint("(status = 'cancelled') = (cancelled_at IS NOT NULL)", name="cancelled"),
        CheckConstraint("days_present >= 0", name="days_present"),
        # Checked at the end of each statement rather than per row, so the queue
        # can move up by one in a single UPDATE.
        UniqueConstraint(
            "session_id",
            "waitlist_position",
            name="uq_enrollments_session_id_waitlist_position",
            deferrable=True,
            initially="IMMEDIATE",
        ),
        # One live enrolment per worker per session, whatever races.
        Index(
            "uq_enrollments_live_worker",
            "session_id",
            "worker_id",
            unique=True,
            postgresql_where=text("status <> 'cancelled'"),
        ),
        Index("ix_enrollments_session_id_enrolled_at", "session_id", "enrolled_at", "id"),
        Index("ix_enrollments_worker_id", "worker_id"),
        Index("ix_enrollments_group_id", "group_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("training_sessions.id", ondelete="RESTRICT"), nullable=False
    )
    worker_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    group_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    waitlist_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    enrolled_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    cancel_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    days_present: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    certificate_number: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)


class AttendanceRecord(Base):
    """Whether an enrolled worker was there on one day of the session."""

    __tablename__ = "attendance_records"

    enrollment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("enrollments.id", ondelete="CASCADE"), primary_key=True
    )
    attended_on: Mapped[date] = mapped_column(Date, primary_key=True)
    present: Mapped[bool] = mapped_column(Boolean, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class EnrollmentEvent(Base):
    """Outbox of what each enrolled person must be told, in order.

    A notifier reads rows ``WHERE published_at IS NULL ORDER BY id``, tells the
    worker (SMS, LINE, the app) and sets ``published_at``; rows are never deleted.
    """

    __tablename__ = "enrollment_events"
    __table_args__ = (
        Index(
            "ix_enrollment_events_unpublished",
            "id",
            postgresql_where=text("published_at IS NULL"),
        ),
        Index("ix_enrollment_events_session_id_id", "session_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("enrollments.id", ondelete="RESTRICT"), nullable=False
    )
    session_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("training_sessions.id", ondelete="RESTRICT"), nullable=False
    )
    worker_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    waitlist_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # For ``session.changed``: ``{field: {"before": …, "after": …}}``.
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
