"""The registry's time-based jobs (times in Asia/Bangkok; see otog_shared.scheduler)."""

from __future__ import annotations

import uuid
from datetime import datetime

from otog_shared.scheduler import BANGKOK, Job, outbox_purge_job
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.expiry.service import ExpiryService


async def notify_expiring_certifications(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    return await ExpiryService(session).notify_expiring(now.astimezone(BANGKOK).date())


JOBS = (
    # Dates change at midnight; hourly, so a failed run is retried soon.
    Job("certification-expiring", "15 * * * *", notify_expiring_certifications),
    outbox_purge_job(),
    # The partner feed's retention: on merge with the feed, register here
    #   Job("event-log-purge", "50 3 * * *", <body calling purge_events(session,
    #       timedelta(days=30))>)
    # (the feed keeps events at least 30 days; see the README's "Scheduled jobs").
)
