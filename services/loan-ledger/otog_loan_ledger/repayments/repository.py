from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.repayments.models import Repayment, RepaymentReversal


class RepaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, repayment: Repayment) -> Repayment:
        self.session.add(repayment)
        await self.session.flush()
        return repayment

    async def add_reversal(self, reversal: RepaymentReversal) -> None:
        self.session.add(reversal)
        await self.session.flush()

    async def get(self, loan_id: uuid.UUID, repayment_id: uuid.UUID) -> Repayment | None:
        result = await self.session.execute(
            select(Repayment).where(Repayment.id == repayment_id, Repayment.loan_id == loan_id)
        )
        return result.scalar_one_or_none()

    async def of_loan(
        self, loan_id: uuid.UUID, *, after_seq: int | None = None, limit: int | None = None
    ) -> list[Repayment]:
        """Repayments in the order they were recorded."""
        query = select(Repayment).where(Repayment.loan_id == loan_id)
        if after_seq is not None:
            query = query.where(Repayment.seq > after_seq)
        query = query.order_by(Repayment.seq)
        if limit is not None:
            query = query.limit(limit)
        return list((await self.session.execute(query)).scalars())

    async def counted(self, loan_id: uuid.UUID) -> list[Repayment]:
        """Repayments that count (not reversed), in the order they are allocated:
        by payment date, then by the order they were recorded."""
        result = await self.session.execute(
            select(Repayment)
            .outerjoin(RepaymentReversal, RepaymentReversal.repayment_id == Repayment.id)
            .where(Repayment.loan_id == loan_id, RepaymentReversal.repayment_id.is_(None))
            .order_by(Repayment.paid_on, Repayment.seq)
        )
        return list(result.scalars())

    async def reversals(self, repayment_ids: list[uuid.UUID]) -> dict[uuid.UUID, RepaymentReversal]:
        if not repayment_ids:
            return {}
        result = await self.session.execute(
            select(RepaymentReversal).where(RepaymentReversal.repayment_id.in_(repayment_ids))
        )
        return {r.repayment_id: r for r in result.scalars()}

    async def last_paid_on(self, loan_id: uuid.UUID) -> date | None:
        result = await self.session.execute(
            select(func.max(Repayment.paid_on))
            .outerjoin(RepaymentReversal, RepaymentReversal.repayment_id == Repayment.id)
            .where(Repayment.loan_id == loan_id, RepaymentReversal.repayment_id.is_(None))
        )
        return result.scalar_one_or_none()
