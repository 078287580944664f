"""Loan figures per province for the programme's dashboards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Security
from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses

from otog_loan_ledger.clock import bangkok_today
from otog_loan_ledger.schemas import IsoDate
from otog_loan_ledger.stats.schemas import LoanStats
from otog_loan_ledger.stats.service import LoanStatsService

router = APIRouter(prefix="/v1/stats", tags=["stats"])


@router.get(
    "/loans",
    summary="Loans, money and portfolio at risk per province",
    response_model=LoanStats,
    responses=problem_responses(401, 403, 422),
)
async def loan_stats(
    session: DbSession,
    principal: Annotated[Principal, Security(authenticate, scopes=["loans:read"])],
    province: Annotated[
        str | None, Query(pattern=r"^[0-9]{2}$", description="Province code.", examples=["15"])
    ] = None,
    as_of: Annotated[
        IsoDate | None,
        Query(description="The day to compute the figures for (Asia/Bangkok); default today."),
    ] = None,
) -> LoanStats:
    """Per province, across every fund: loans per current status, principal
    committed (approved, not yet disbursed), disbursed, repaid, outstanding and in
    arrears on `as_of`, and the outstanding loans bucketed by days past due (current,
    1–30, 31–60, 61–90, 90+) as in a fund's portfolio; `totals` over the provinces
    listed. `funds` gives each fund's budget, committed, disbursed, repaid and
    available (as they stand now). A provincial client sees its own province (another
    province's figures are empty) and its province's own funds."""
    day = as_of or bangkok_today()
    return await LoanStatsService(session).per_province(principal, province, day)
