from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from otog_shared.db import TimestampMixin
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from otog_training.models import Base

MAX_CAPACITY = 500
DEFAULT_MINIMUM = 100


class SessionStatus(enum.StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class SessionMode(enum.StrEnum):
    ONSITE = "onsite"
    ONLINE = "online"


class CancelReason(enum.StrEnum):
    """Why a session was cancelled (told to everybody enrolled)."""

    BELOW_MINIMUM = "below_minimum"
    ORGANISER = "organiser"


# States in which people may still book or cancel a seat.
BOOKABLE_STATES = frozenset({SessionStatus.OPEN, SessionStatus.CONFIRMED})

# What a PATCH may change in each state. Until the session starts everything
# about when, where and how many; once it runs, only where it is held (a room or
# a meeting link can move mid-course); once it is over, nothing.
EDITABLE_FIELDS: dict[str, frozenset[str]] = {
    SessionStatus.OPEN: frozenset(
        {
            "starts_on",
            "ends_on",
            "mode",
            "venue",
            "online_url",
            "capacity",
            "minimum",
            "enrollment_closes_at",
        }
    ),
    SessionStatus.RUNNING: frozenset({"venue", "online_url"}),
    SessionStatus.COMPLETED: frozenset(),
    SessionStatus.CANCELLED: frozenset(),
}
EDITABLE_FIELDS[SessionStatus.CONFIRMED] = EDITABLE_FIELDS[SessionStatus.OPEN]

# Changes the people enrolled are told about (``session.changed``).
NOTIFIED_FIELDS = frozenset({"starts_on", "ends_on", "mode", "venue", "online_url"})


class TrainingSession(TimestampMixin, Base):
    """One run of a course in one training area (province), with its seats.

    ``confirmed_count`` and ``waitlist_count`` are kept in the same transaction as
    the enrolment rows they count, under a row lock on this session; the CHECK
    constraints make an oversold session impossible even for a faulty writer.
    """

    __tablename__ = "training_sessions"
    __table_args__ = (
        CheckConstraint("province_code ~ '^[0-9]{2}$'", name="province_code"),
        CheckConstraint("mode IN ('onsite', 'online')", name="mode"),
        CheckConstraint(
            "status IN ('open', 'confirmed', 'running', 'completed', 'cancelled')", name="status"
        ),
        CheckConstraint(f"capacity BETWEEN 1 AND {MAX_CAPACITY}", name="capacity"),
        CheckConstraint("minimum BETWEEN 1 AND capacity", name="minimum"),
        CheckConstraint("ends_on >= starts_on", name="dates"),
        CheckConstraint("confirmed_count BETWEEN 0 AND capacity", name="confirmed_count"),
        CheckConstraint("waitlist_count >= 0", name="waitlist_count"),
        CheckConstraint("(status = 'cancelled') = (cancelled_at IS NOT NULL)", name="cancelled_at"),
        # The place the mode needs (the API's schema promises it).
        CheckConstraint(
            "(mode <> 'onsite' OR (venue IS NOT NULL AND btrim(venue) <> ''))"
            " AND (mode <> 'online' OR online_url IS NOT NULL)",
            name="place",
        ),
        Index("ix_training_sessions_starts_on_id", "starts_on", "id"),
        Index("ix_training_sessions_province_code_starts_on", "province_code", "starts_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    course_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("courses.id", ondelete="RESTRICT"), nullable=False
    )
    province_code: Mapped[str] = mapped_column(String(2), nullable=False)
    mode: Mapped[str] = mapped_column(String(16), nullable=False)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    venue: Mapped[str | None] = mapped_column(Text, nullable=True)
    online_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    minimum: Mapped[int] = mapped_column(Integer, nullable=False)
    enrollment_closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=SessionStatus.OPEN)
    confirmed_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    waitlist_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    cancel_note: Mapped[str | None] = mapped_column(Text, nullable=True)
