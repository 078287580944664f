from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import bindparam, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.funds.models import Fund
from otog_loan_ledger.loans.models import Installment, Loan, LoanStatusChange
from otog_loan_ledger.loans.transitions import OPEN_STATUSES
from otog_loan_ledger.repayments.models import Repayment, RepaymentReversal

# Built once: the hot path of every repayment.
_LOCK_IN_FUND = (
    select(Loan, Fund.revolving)
    .join(Fund, Fund.id == Loan.fund_id)
    .where(Loan.id == bindparam("loan_id"))
    .with_for_update(of=Loan)
    .execution_options(populate_existing=True)
)


class LoanRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, loan: Loan) -> Loan:
        self.session.add(loan)
        await self.session.flush()
        return loan

    async def get(self, loan_id: uuid.UUID) -> Loan | None:
        result = await self.session.execute(
            select(Loan).where(Loan.id == loan_id).execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def lock(self, loan_id: uuid.UUID) -> Loan | None:
        """The loan, row-locked until the transaction ends: every change to a loan
        (its state, schedule, repayments) goes through this lock, one at a time."""
        result = await self.session.execute(
            select(Loan)
            .where(Loan.id == loan_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def lock_in_fund(self, loan_id: uuid.UUID) -> tuple[Loan, bool] | None:
        """``lock``, and whether the loan's fund is revolving, in one statement.
        The flag is set once, when the fund is created, so reading it beside the
        lock (whose snapshot may predate the lock's wait) is never stale; the
        fund's row is not locked."""
        row = (await self.session.execute(_LOCK_IN_FUND, {"loan_id": loan_id})).one_or_none()
        return None if row is None else (row[0], bool(row[1]))

    async def open_loan_of(self, fund_id: uuid.UUID, group_id: uuid.UUID) -> Loan | None:
        """An open loan of the group in the fund, the oldest when a reopened loan
        stands beside a newer one."""
        result = await self.session.execute(
            select(Loan)
            .where(
                Loan.fund_id == fund_id,
                Loan.group_id == group_id,
                Loan.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .order_by(Loan.created_at, Loan.id)
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def search(
        self,
        *,
        province: str | None,
        fund_id: uuid.UUID | None,
        group_id: uuid.UUID | None,
        status: str | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Loan]:
        query = select(Loan)
        if province is not None:
            query = query.where(Loan.province_code == province)
        if fund_id is not None:
            query = query.where(Loan.fund_id == fund_id)
        if group_id is not None:
            query = query.where(Loan.group_id == group_id)
        if status is not None:
            query = query.where(Loan.status == status)
        if after is not None:
            query = query.where(tuple_(Loan.created_at, Loan.id) > tuple_(*after))
        result = await self.session.execute(query.order_by(Loan.created_at, Loan.id).limit(limit))
        return list(result.scalars())

    async def of_groups(self, group_ids: Sequence[uuid.UUID]) -> list[Loan]:
        if not group_ids:
            return []
        result = await self.session.execute(
            select(Loan).where(Loan.group_id.in_(group_ids)).order_by(Loan.created_at, Loan.id)
        )
        return list(result.scalars())

    async def disbursed_in_fund(
        self, fund_id: uuid.UUID, province: str | None, as_of: date
    ) -> list[Loan]:
        query = select(Loan).where(
            Loan.fund_id == fund_id,
            Loan.status.in_(["active", "closed"]),
            Loan.disbursed_on <= as_of,
        )
        if province is not None:
            query = query.where(Loan.province_code == province)
        result = await self.session.execute(query.order_by(Loan.created_at, Loan.id))
        return list(result.scalars())

    async def add_installments(self, installments: list[Installment]) -> None:
        self.session.add_all(installments)
        await self.session.flush()

    async def installments(self, loan_id: uuid.UUID) -> list[Installment]:
        result = await self.session.execute(
            select(Installment)
            .where(Installment.loan_id == loan_id)
            .order_by(Installment.number)
            .execution_options(populate_existing=True)
        )
        return list(result.scalars())

    async def installments_of(
        self, loan_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[Installment]]:
        by_loan: dict[uuid.UUID, list[Installment]] = defaultdict(list)
        if not loan_ids:
            return by_loan
        result = await self.session.execute(
            select(Installment)
            .where(Installment.loan_id.in_(loan_ids))
            .order_by(Installment.loan_id, Installment.number)
        )
        for installment in result.scalars():
            by_loan[installment.loan_id].append(installment)
        return by_loan

    async def paid_totals(self, loan_ids: Sequence[uuid.UUID], as_of: date) -> dict[uuid.UUID, int]:
        """Repayments counted up to and including ``as_of``, reversed ones left out
        (a reversal undoes the repayment as if it had never been made)."""
        if not loan_ids:
            return {}
        result = await self.session.execute(
            select(Repayment.loan_id, func.sum(Repayment.amount_satang))
            .outerjoin(RepaymentReversal, RepaymentReversal.repayment_id == Repayment.id)
            .where(
                Repayment.loan_id.in_(loan_ids),
                Repayment.paid_on <= as_of,
                RepaymentReversal.repayment_id.is_(None),
            )
            .group_by(Repayment.loan_id)
        )
        return {loan_id: int(total) for loan_id, total in result.all()}

    async def add_status_change(self, change: LoanStatusChange) -> None:
        self.session.add(change)
        await self.session.flush()

    async def status_changes(self, loan_id: uuid.UUID) -> list[LoanStatusChange]:
        result = await self.session.execute(
            select(LoanStatusChange)
            .where(LoanStatusChange.loan_id == loan_id)
            .order_by(LoanStatusChange.seq)
        )
        return list(result.scalars())
