"""Loans per province across funds, with the portfolio at risk, on a given day."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date

from otog_shared.auth import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.funds.models import Fund
from otog_loan_ledger.loans.models import Loan
from otog_loan_ledger.loans.service import LoanFigures as Position
from otog_loan_ledger.loans.service import LoanService
from otog_loan_ledger.loans.transitions import LoanStatus
from otog_loan_ledger.portfolio.buckets import ParTally
from otog_loan_ledger.stats.repository import LoanStatsRepository, StatusCount
from otog_loan_ledger.stats.schemas import (
    FundFigures,
    FundTotals,
    LoanFigures,
    LoanStats,
    LoanStatusCount,
    ProvinceLoans,
)


def _figures(
    counts: list[StatusCount], loans: list[Loan], positions: list[Position]
) -> LoanFigures:
    by_status = {s: (0, 0) for s in LoanStatus}
    for c in counts:
        loans_n, principal = by_status[LoanStatus(c.status)]
        by_status[LoanStatus(c.status)] = (loans_n + c.loans, principal + c.principal_satang)
    tally = ParTally().add_all(positions)
    return LoanFigures(
        loans_by_status=[
            LoanStatusCount(status=s, loans=n, principal_satang=p)
            for s, (n, p) in by_status.items()
        ],
        committed_satang=by_status[LoanStatus.APPROVED][1],
        disbursed_satang=sum(loan.principal_satang for loan in loans),
        repaid_satang=sum(p.paid_satang for p in positions),
        outstanding_satang=tally.outstanding_satang,
        arrears_satang=tally.arrears_satang,
        at_risk_satang=tally.at_risk_satang,
        par_bps=tally.par_bps,
        buckets=tally.buckets(),
    )


def _fund_totals(fund: Fund) -> FundTotals:
    return FundTotals(
        fund_id=fund.id,
        name=fund.name,
        province_code=fund.province_code,
        revolving=fund.revolving,
        budget_satang=fund.budget_satang,
        committed_satang=fund.committed_satang,
        disbursed_satang=fund.disbursed_satang,
        repaid_satang=fund.repaid_satang,
        available_satang=fund.available_satang,
    )


class LoanStatsService:
    def __init__(self, session: AsyncSession) -> None:
        self.stats = LoanStatsRepository(session)
        self.loans = LoanService(session)

    async def per_province(
        self, principal: Principal, province: str | None, as_of: date
    ) -> LoanStats:
        if principal.province is not None and province not in (None, principal.province):
            # Another province than the caller's: nothing to see (as with the lists).
            return self._stats(principal.province, as_of, [], [], {}, [])
        province = principal.province or province
        counts = await self.stats.status_counts(province)
        disbursed = await self.stats.disbursed(province, as_of)
        positions = await self.loans.figures(disbursed, as_of)
        funds = await self.stats.funds(province)
        return self._stats(province, as_of, counts, disbursed, positions, funds)

    @staticmethod
    def _stats(
        province: str | None,
        as_of: date,
        counts: list[StatusCount],
        disbursed: list[Loan],
        positions: dict[uuid.UUID, Position],
        funds: list[Fund],
    ) -> LoanStats:
        counts_of: dict[str, list[StatusCount]] = defaultdict(list)
        for c in counts:
            counts_of[c.province_code].append(c)
        loans_of: dict[str, list[Loan]] = defaultdict(list)
        for loan in disbursed:
            loans_of[loan.province_code].append(loan)
        rows = [
            ProvinceLoans(
                province_code=code,
                **_figures(
                    counts_of[code],
                    loans_of[code],
                    [positions[loan.id] for loan in loans_of[code]],
                ).model_dump(),
            )
            for code in sorted(counts_of)
        ]
        totals = _fund_totals_sum(funds)
        return LoanStats(
            as_of=as_of,
            province=province,
            rows=rows,
            totals=_figures(counts, disbursed, [positions[loan.id] for loan in disbursed]),
            funds=[_fund_totals(f) for f in funds],
            fund_totals=totals,
        )


def _fund_totals_sum(funds: list[Fund]) -> FundFigures | None:
    if not funds:
        return None
    return FundFigures(
        budget_satang=sum(f.budget_satang for f in funds),
        committed_satang=sum(f.committed_satang for f in funds),
        disbursed_satang=sum(f.disbursed_satang for f in funds),
        repaid_satang=sum(f.repaid_satang for f in funds),
        available_satang=sum(f.available_satang for f in funds),
    )
