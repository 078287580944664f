"""Training's time-based jobs (times in Asia/Bangkok; see otog_shared.scheduler)."""

from __future__ import annotations

import uuid
from datetime import datetime

from otog_shared.idempotency.service import idempotency_expiry_job
from otog_shared.scheduler import Job, outbox_purge_job
from otog_shared.sync.service import sync_compaction_job
from sqlalchemy.ext.asyncio import AsyncSession

from otog_training.courses.repository import CourseRepository
from otog_training.enrollments.repository import EnrollmentRepository
from otog_training.sessions.repository import SessionRepository
from otog_training.sessions.service import SessionService


async def cancel_below_minimum(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    """The sweep ``otog_training.cli cancel-below-minimum`` runs by hand."""
    service = SessionService(
        SessionRepository(session), EnrollmentRepository(session), CourseRepository(session)
    )
    return await service.cancel_below_minimum(now)


JOBS = (
    # Booking closes at any minute a session chooses; people hear of a cancellation
    # within five minutes of it.
    Job("cancel-below-minimum", "*/5 * * * *", cancel_below_minimum),
    idempotency_expiry_job(),
    outbox_purge_job(),
    sync_compaction_job(),
)
