"""``loan.overdue``: partners are told when a loan's days past due reach 1, 31, 61, 91.

Once per loan, threshold and arrears episode (see :class:`OverdueNotice`). When a
sweep finds a loan past several thresholds not yet told (the loan was reversed into
deep arrears, or the sweep could not run for a while), it tells only the highest one
and records the lower ones as passed: a partner hears where the loan stands, not a
burst of stale steps.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from otog_shared.outbox import record_event
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.loans.service import LoanService
from otog_loan_ledger.overdue.models import OVERDUE_THRESHOLDS
from otog_loan_ledger.overdue.repository import OverdueRepository

PAGE = 500


@dataclass(frozen=True)
class OverdueNoticeSent:
    loan_id: uuid.UUID
    threshold: int
    days_past_due: int


class OverdueService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.notices = OverdueRepository(session)
        self.loans = LoanService(session)

    async def notify(self, today: date) -> list[OverdueNoticeSent]:
        """Record ``loan.overdue`` for every active loan that reached a threshold
        not yet told in its current episode; a rerun the same day records nothing."""
        sent: list[OverdueNoticeSent] = []
        after: uuid.UUID | None = None
        while True:
            page = await self.notices.active_loans(after, PAGE)
            if not page:
                return sent
            after = page[-1].id
            figures = await self.loans.figures(page, today)
            for loan in page:
                standing = figures[loan.id].standing
                dpd = standing.days_past_due
                reached = [t for t in OVERDUE_THRESHOLDS if dpd >= t]
                if not reached:
                    continue
                due_since = today - timedelta(days=dpd)
                new = await self.notices.add_notices(loan.id, due_since, reached, dpd)
                if not new or new[-1] != reached[-1]:
                    # Nothing new, or only lower thresholds were missing: the highest
                    # reached was already told in this episode.
                    continue
                threshold = reached[-1]
                await record_event(
                    self.session,
                    "loan.overdue",
                    subject=f"/v1/loans/{loan.id}",
                    data={
                        "loan_id": loan.id,
                        "group_id": loan.group_id,
                        "fund_id": loan.fund_id,
                        "days_past_due": dpd,
                        "threshold": threshold,
                        "arrears_satang": standing.arrears_satang,
                        "outstanding_satang": standing.outstanding_satang,
                        "due_since": due_since,
                        "as_of": today,
                    },
                    province_code=loan.province_code,
                )
                sent.append(OverdueNoticeSent(loan.id, threshold, dpd))
