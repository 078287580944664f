"""Loans and funds counted for the programme's dashboards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.funds.models import Fund
from otog_loan_ledger.loans.models import Loan
from otog_loan_ledger.loans.transitions import LoanStatus


@dataclass(frozen=True)
class StatusCount:
    province_code: str
    status: str
    loans: int
    principal_satang: int


class LoanStatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def status_counts(self, province: str | None) -> list[StatusCount]:
        """Loans and their principal per province and current status, across funds."""
        stmt = (
            select(
                Loan.province_code,
                Loan.status,
                func.count(),
                func.coalesce(func.sum(Loan.principal_satang), 0),
            )
            .group_by(Loan.province_code, Loan.status)
            .order_by(Loan.province_code, Loan.status)
        )
        if province is not None:
            stmt = stmt.where(Loan.province_code == province)
        return [
            StatusCount(r[0], r[1], int(r[2]), int(r[3])) for r in await self.session.execute(stmt)
        ]

    async def disbursed(self, province: str | None, as_of: date) -> list[Loan]:
        """Loans of every fund paid out on or before ``as_of``."""
        stmt = select(Loan).where(
            Loan.status.in_([LoanStatus.ACTIVE.value, LoanStatus.CLOSED.value]),
            Loan.disbursed_on <= as_of,
        )
        if province is not None:
            stmt = stmt.where(Loan.province_code == province)
        return list((await self.session.scalars(stmt.order_by(Loan.created_at, Loan.id))).all())

    async def funds(self, province: str | None) -> list[Fund]:
        """Every fund, or a province's own funds only."""
        stmt = select(Fund).order_by(Fund.created_at, Fund.id)
        if province is not None:
            stmt = stmt.where(Fund.province_code == province)
        return list((await self.session.scalars(stmt)).all())
