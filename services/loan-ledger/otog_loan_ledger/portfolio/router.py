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
from otog_loan_ledger.loans.service import LoanService
from otog_loan_ledger.portfolio.buckets import ParTally
from otog_loan_ledger.portfolio.schemas import PortfolioOut
from otog_loan_ledger.schemas import IsoDate

router = APIRouter(prefix="/v1/funds/{fund_id}", tags=["portfolio"])


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
    tally = ParTally().add_all(figures[loan.id] for loan in loans)
    return PortfolioOut(
        fund_id=fund.id,
        as_of=day,
        province_code=principal.province,
        loans=tally.loan_count,
        outstanding_satang=tally.outstanding_satang,
        arrears_satang=tally.arrears_satang,
        at_risk_satang=tally.at_risk_satang,
        par_bps=tally.par_bps,
        buckets=tally.buckets(),
    )
