"""The registry's time-based jobs (times in Asia/Bangkok; see otog_shared.scheduler)."""

from __future__ import annotations

import uuid
from datetime import datetime

from otog_shared.idempotency.service import idempotency_expiry_job
from otog_shared.scheduler import BANGKOK, Job, outbox_purge_job
from otog_shared.sync.service import sync_compaction_job
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.events.service import RETENTION_DAYS, purge_events_older_than
from otog_registry.expiry.service import ExpiryService


async def purge_feed(session: AsyncSession, now: datetime) -> int:
    return await purge_events_older_than(session, RETENTION_DAYS, now=now)


async def notify_expiring_certifications(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    return await ExpiryService(session).notify_expiring(now.astimezone(BANGKOK).date())


JOBS = (
    # Dates change at midnight; hourly, so a failed run is retried soon.
    Job("certification-expiring", "15 * * * *", notify_expiring_certifications),
    idempotency_expiry_job(),
    outbox_purge_job(),
    # The partner feed keeps events at least 30 days (a cursor older than that is a 410).
    Job("event-log-purge", "50 3 * * *", purge_feed),
    sync_compaction_job(),
)
