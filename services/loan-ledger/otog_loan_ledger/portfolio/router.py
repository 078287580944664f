from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Security
from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses

from otog_loan_ledger.clock import bangkok_today
from otog_loan_ledger.funds.service import FundService
from otog_loan_ledger.loans.repository import LoanRepository
from otog_loan_ledger.loans.schedule import PAR_BUCKETS, par_bucket
from otog_loan_ledger.loans.service import LoanService
from otog_loan_ledger.portfolio.schemas import ParBucketOut, PortfolioOut
from otog_loan_ledger.schemas import IsoDate

router = APIRouter(prefix="/v1/funds/{fund_id}", tags=["portfolio"])


def _bps(part: int, whole: int) -> int:
    return part * 10_000 // whole if whole else 0


@router.get(
    "/portfolio",
    summary="Get a fund's portfolio at risk",
    response_model=PortfolioOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_fund_portfolio(
    fund_id: uuid.UUID,
    session: DbSession,
    principal: Annotated[Principal, Security(authenticate, scopes=["loans:read"])],
    as_of: Annotated[
        IsoDate | None,
        Query(description="The day to compute the figures for (Asia/Bangkok); default today."),
    ] = None,
) -> PortfolioOut:
    """The fund's disbursed loans with principal outstanding on `as_of`, bucketed
    by days past due (current, 1–30, 31–60, 61–90, 90+), with outstanding and
    arrears per bucket and the portfolio at risk (PAR). A provincial client sees
    its own province's loans only."""
    day = as_of or bangkok_today()
    fund = await FundService.of(session).get(principal, fund_id)
    loans = await LoanRepository(session).disbursed_in_fund(fund.id, principal.province, day)
    figures = await LoanService(session).figures(loans, day)
    counts = {name: 0 for name, _, _ in PAR_BUCKETS}
    outstanding = {name: 0 for name, _, _ in PAR_BUCKETS}
    arrears = {name: 0 for name, _, _ in PAR_BUCKETS}
    for loan in loans:
        position = figures[loan.id].standing
        if position.outstanding_satang == 0:
            continue
        bucket = par_bucket(position.days_past_due)
        counts[bucket] += 1
        outstanding[bucket] += position.outstanding_satang
        arrears[bucket] += position.arrears_satang
    total = sum(outstanding.values())
    at_risk = total - outstanding["current"]
    return PortfolioOut(
        fund_id=fund.id,
        as_of=day,
        province_code=principal.province,
        loans=sum(counts.values()),
        outstanding_satang=total,
        arrears_satang=sum(arrears.values()),
        at_risk_satang=at_risk,
        par_bps=_bps(at_risk, total),
        buckets=[
            ParBucketOut(
                bucket=name,
                min_days_past_due=low,
                max_days_past_due=high,
                loans=counts[name],
                outstanding_satang=outstanding[name],
                arrears_satang=arrears[name],
                share_bps=_bps(outstanding[name], total),
            )
            for name, low, high in PAR_BUCKETS
        ],
    )
