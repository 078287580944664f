"""A worker's own loans, for the worker signed in with the national digital ID."""

from __future__ import annotations

from fastapi import APIRouter
from otog_shared.auth import CurrentWorker
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses

from otog_loan_ledger.clock import bangkok_today
from otog_loan_ledger.loans.router import AsOf, loan_out, schedule_out
from otog_loan_ledger.me.schemas import MyLoanOut, MyLoans
from otog_loan_ledger.me.service import MyLoansService
from otog_loan_ledger.registry import Registry

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get(
    "/loans",
    summary="My groups' loans",
    response_model=MyLoans,
    responses=problem_responses(401, 403, 422, 503),
)
async def list_my_loans(
    session: DbSession, principal: CurrentWorker, registry: Registry, as_of: AsOf = None
) -> MyLoans:
    """Every loan of the groups the signed-in worker belongs to now, oldest application
    first, each with its figures and repayment schedule as of `as_of` (default today,
    Asia/Bangkok). 503 when the registry, which knows the worker's groups, cannot answer."""
    day = as_of or bangkok_today()
    rows = await MyLoansService(session, registry).loans_of(principal, day)
    return MyLoans(
        items=[
            MyLoanOut(
                **loan_out(loan, figures).model_dump(),
                schedule=schedule_out(loan, day, installments),
            )
            for loan, figures, installments in rows
        ]
    )
