"""Who gets a seat when seats free up, whatever freed them.

A cancelled booking and a raised capacity both end here, under the session's row
lock, so the people waiting move up the same way: in queue order, each told with
an ``enrollment.promoted`` event in the same transaction, positions renumbered
1..n without gaps.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from otog_training.enrollments.models import EventKind
from otog_training.enrollments.repository import EnrollmentRepository
from otog_training.sessions.models import SessionStatus, TrainingSession


def event_row(
    session_id: uuid.UUID,
    enrollment_id: uuid.UUID,
    worker_id: uuid.UUID,
    kind: EventKind,
    *,
    now: datetime,
    reason: str | None = None,
    note: str | None = None,
    waitlist_position: int | None = None,
) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "enrollment_id": enrollment_id,
        "worker_id": worker_id,
        "kind": str(kind),
        "reason": reason,
        "note": note,
        "waitlist_position": waitlist_position,
        "occurred_at": now,
    }


def note_minimum(training_session: TrainingSession, now: datetime) -> None:
    """Reaching the minimum confirms the session for good: later withdrawals do not
    un-confirm it (the office has committed venue and trainers)."""
    if (
        training_session.status == SessionStatus.OPEN
        and training_session.confirmed_count >= training_session.minimum
    ):
        training_session.status = SessionStatus.CONFIRMED
        training_session.confirmed_at = now


async def fill_free_seats(
    enrollments: EnrollmentRepository, training_session: TrainingSession, now: datetime
) -> list[dict[str, Any]]:
    """Give every free seat to the head of the queue; the events to record.

    The caller holds the session's row lock and has already changed what freed
    the seats (a cancelled booking, a larger capacity) on ``training_session``.
    """
    seats = min(
        training_session.capacity - training_session.confirmed_count,
        training_session.waitlist_count,
    )
    if seats <= 0:
        return []
    promoted = await enrollments.promote_waitlisted(training_session.id, seats, now)
    training_session.waitlist_count -= len(promoted)
    training_session.confirmed_count += len(promoted)
    note_minimum(training_session, now)
    return [
        event_row(training_session.id, p.enrollment_id, p.worker_id, EventKind.PROMOTED, now=now)
        for p in promoted
    ]
