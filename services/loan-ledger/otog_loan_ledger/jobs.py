"""The loan ledger's time-based jobs (times in Asia/Bangkok; see otog_shared.scheduler)."""

from __future__ import annotations

from datetime import datetime

from otog_shared.idempotency.service import expire_idempotency_keys, idempotency_expiry_job
from otog_shared.scheduler import Job, outbox_purge_job
from otog_shared.sync.service import sync_compaction_job
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.clock import BANGKOK
from otog_loan_ledger.overdue.service import OverdueNoticeSent, OverdueService


async def notify_overdue(session: AsyncSession, now: datetime) -> list[OverdueNoticeSent]:
    return await OverdueService(session).notify(now.astimezone(BANGKOK).date())


__all__ = ["JOBS", "expire_idempotency_keys", "notify_overdue"]

JOBS = (
    # Days past due change at midnight; hourly, so a failed run is retried soon.
    Job("loan-overdue", "5 * * * *", notify_overdue),
    idempotency_expiry_job(),
    outbox_purge_job(),
    sync_compaction_job(),
)
