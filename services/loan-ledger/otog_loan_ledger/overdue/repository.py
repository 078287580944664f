from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.loans.models import Loan
from otog_loan_ledger.overdue.models import OverdueNotice


class OverdueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_loans(self, after: uuid.UUID | None, limit: int) -> list[Loan]:
        """Disbursed loans not yet closed, by id, a page after ``after``."""
        query = select(Loan).where(Loan.status == "active")
        if after is not None:
            query = query.where(Loan.id > after)
        result = await self.session.execute(query.order_by(Loan.id).limit(limit))
        return list(result.scalars())

    async def add_notices(
        self, loan_id: uuid.UUID, due_since: date, thresholds: Sequence[int], days_past_due: int
    ) -> list[int]:
        """Record the thresholds not yet noticed in this episode; those that were new.

        ``ON CONFLICT DO NOTHING``: two sweeps racing over one loan notice each
        threshold once, whichever commits first."""
        if not thresholds:
            return []
        result = await self.session.execute(
            insert(OverdueNotice)
            .values(
                [
                    {
                        "loan_id": loan_id,
                        "due_since": due_since,
                        "threshold": t,
                        "days_past_due": days_past_due,
                    }
                    for t in thresholds
                ]
            )
            .on_conflict_do_nothing()
            .returning(OverdueNotice.threshold)
        )
        return sorted(result.scalars())
