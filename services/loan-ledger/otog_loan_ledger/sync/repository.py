"""Loans for a page of sync, in one query."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.loans.models import Loan


class SyncRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def loans(self, ids: Sequence[uuid.UUID], province: str | None) -> list[Loan]:
        query = select(Loan).where(Loan.id.in_(ids))
        if province is not None:
            query = query.where(Loan.province_code == province)
        return list(await self.session.scalars(query))
