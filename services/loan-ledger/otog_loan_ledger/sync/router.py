"""`GET /v1/sync/loans` (see ``otog_shared.sync``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from otog_shared.db import DbSession
from otog_shared.sync.http import add_sync_routes
from otog_shared.sync.service import Loader, SyncCollection

from otog_loan_ledger.loans.schemas import LoanOut
from otog_loan_ledger.sync.service import LoanSync

router = APIRouter()


async def loans_loader(session: DbSession) -> Loader[Any]:
    return LoanSync(session).load_loans


add_sync_routes(
    router,
    [
        SyncCollection(
            "loans",
            "loans:read",
            LoanOut,
            loans_loader,
            "Loans as `GET /v1/loans/{id}` shows them, changed by every status change, "
            "repayment and reversal. The figures (`outstanding_satang`, `arrears_satang`, "
            "`days_past_due`) are as of the day the loan was last synced: days past due "
            "grow with the calendar, not with a change, so read `GET /v1/loans/{id}` for "
            "today's.",
        ),
    ],
)
