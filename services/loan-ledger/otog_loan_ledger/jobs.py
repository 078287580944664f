"""The loan ledger's time-based jobs (times in Asia/Bangkok; see otog_shared.scheduler)."""

from __future__ import annotations

from datetime import datetime

from otog_shared.idempotency.service import expire_idempotency_keys, idempotency_expiry_job
from otog_shared.scheduler import Job, outbox_purge_job
from otog_shared.sync.service import sync_compaction_job
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.clock import BANGKOK
from otog_loan_ledger.funds.service import FundService
from otog_loan_ledger.overdue.service import OverdueNoticeSent, OverdueService


async def notify_overdue(session: AsyncSession, now: datetime) -> list[OverdueNoticeSent]:
    return await OverdueService(session).notify(now.astimezone(BANGKOK).date())


async def fold_fund_changes(session: AsyncSession, now: datetime) -> int:
    return await FundService.of(session).fold_changes()


__all__ = ["JOBS", "expire_idempotency_keys", "fold_fund_changes", "notify_overdue"]

JOBS = (
    # Days past due change at midnight; hourly, so a failed run is retried soon.
    Job("loan-overdue", "5 * * * *", notify_overdue),
    # Every minute: the repayments of a minute, summed on every read of their fund
    # until folded into its row (approvals and reversals fold their fund as well).
    Job("loan-fund-fold", "* * * * *", fold_fund_changes),
    idempotency_expiry_job(),
    outbox_purge_job(),
    sync_compaction_job(),
)
