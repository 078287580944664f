"""What the training service publishes to partners (see ``otog_shared.outbox``).

Every change of a session or an enrolment that partners are told about goes through
these two functions, in the transaction of the change. The enrolment history rows
(``enrollment_events``) map one to one onto published enrolment events: a seat lost
because the whole session was cancelled or its waiting list closed is an
``enrollment.cancelled`` whose ``reason`` says why. A change of a session's dates or
place is not published (no event type for it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from otog_shared.outbox import NewEvent, record_event, record_events
from sqlalchemy.ext.asyncio import AsyncSession

from otog_training.enrollments.models import EnrollmentCancelReason, EventKind
from otog_training.sessions.models import TrainingSession

# enrollment_events.kind → (published type, the reason it carries when it is implied).
_PUBLISHED: dict[str, tuple[str, str | None]] = {
    EventKind.CONFIRMED: ("enrollment.confirmed", None),
    EventKind.WAITLISTED: ("enrollment.waitlisted", None),
    EventKind.PROMOTED: ("enrollment.promoted", None),
    EventKind.CANCELLED: ("enrollment.cancelled", None),
    EventKind.SESSION_CANCELLED: (
        "enrollment.cancelled",
        str(EnrollmentCancelReason.SESSION_CANCELLED),
    ),
    EventKind.WAITLIST_CLOSED: (
        "enrollment.cancelled",
        str(EnrollmentCancelReason.WAITLIST_CLOSED),
    ),
    EventKind.COMPLETED: ("enrollment.completed", None),
}


async def publish_session(
    db: AsyncSession, event_type: str, training_session: TrainingSession, **extra: Any
) -> None:
    await record_event(
        db,
        event_type,
        subject=f"/v1/training-sessions/{training_session.id}",
        province_code=training_session.province_code,
        data={
            "session_id": training_session.id,
            "course_id": training_session.course_id,
            "status": training_session.status,
            "mode": training_session.mode,
            "starts_on": training_session.starts_on,
            "ends_on": training_session.ends_on,
            "capacity": training_session.capacity,
            "minimum": training_session.minimum,
            "confirmed_count": training_session.confirmed_count,
            **extra,
        },
    )


async def publish_enrollments(
    db: AsyncSession,
    training_session: TrainingSession,
    rows: Iterable[Mapping[str, Any]],
    *,
    previous_status: Mapping[uuid.UUID, str] | None = None,
) -> None:
    """One published event per enrolment history row (see :func:`event_row`); a
    cancellation also says what the enrolment was (``previous_status``: given, or
    ``waitlisted`` when the waiting list closed)."""
    events: list[NewEvent] = []
    for row in rows:
        published = _PUBLISHED.get(str(row["kind"]))
        if published is None:
            continue
        event_type, implied_reason = published
        data: dict[str, Any] = {
            "enrollment_id": row["enrollment_id"],
            "session_id": training_session.id,
            "course_id": training_session.course_id,
            "worker_id": row["worker_id"],
        }
        if row.get("waitlist_position") is not None:
            data["waitlist_position"] = row["waitlist_position"]
        if event_type == "enrollment.cancelled":
            data["reason"] = implied_reason or row.get("reason")
            data["previous_status"] = (previous_status or {}).get(row["enrollment_id"]) or (
                "waitlisted" if row["kind"] == EventKind.WAITLIST_CLOSED else None
            )
        if event_type == "enrollment.completed":
            data["certificate_number"] = row.get("note")
        events.append(
            NewEvent(
                event_type,
                subject=f"/v1/enrollments/{row['enrollment_id']}",
                province_code=training_session.province_code,
                data=data,
            )
        )
    # One statement for a batch's events.
    await record_events(db, events)
