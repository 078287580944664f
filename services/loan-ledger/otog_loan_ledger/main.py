"""`uvicorn otog_loan_ledger.main:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI
from otog_shared.app import create_app as create_service_app
from otog_shared.auth import ME_TAG
from otog_shared.http import registry_client_hook
from otog_shared.scheduler import scheduler_hook
from otog_shared.sync.http import SYNC_TAG

from otog_loan_ledger.funds.router import router as funds_router
from otog_loan_ledger.jobs import JOBS
from otog_loan_ledger.ledger.router import router as ledger_router
from otog_loan_ledger.loans.router import router as loans_router
from otog_loan_ledger.me.router import router as me_router
from otog_loan_ledger.portfolio.router import router as portfolio_router
from otog_loan_ledger.repayments.router import router as repayments_router
from otog_loan_ledger.settings import Settings
from otog_loan_ledger.stats.router import router as stats_router
from otog_loan_ledger.sync.router import router as sync_router

DESCRIPTION = (
    "Loan funds and budgets, loan applications, approvals, disbursement, "
    "24-month schedules, repayments and the double-entry ledger."
)

OPENAPI_TAGS = [
    {
        "name": "funds",
        "description": "Loan funds with hard budgets: figures committed, disbursed, repaid "
        "and available.",
    },
    {
        "name": "loans",
        "description": "Applications and the loan lifecycle: submitted → approved → active "
        "(disbursed) → closed; also rejected, withdrawn, and undoing an approval.",
    },
    {
        "name": "repayments",
        "description": "Repayments (with a required Idempotency-Key) and their reversal.",
    },
    {"name": "portfolio", "description": "Arrears and portfolio at risk per fund."},
    {"name": "stats", "description": "Programme dashboard figures."},
    {
        "name": "ledger",
        "description": "The double-entry ledger of each fund (append-only) and its trial balance.",
    },
    ME_TAG,
    SYNC_TAG,
    {"name": "health", "description": "Liveness and readiness."},
]


ROUTERS = (
    funds_router,
    ledger_router,
    portfolio_router,
    loans_router,
    repayments_router,
    stats_router,
    me_router,
    sync_router,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    app = create_service_app(
        settings,
        service="loan-ledger",
        title="OTOG Loan Ledger",
        description=DESCRIPTION,
        routers=ROUTERS,
        openapi_tags=OPENAPI_TAGS,
        hooks=[registry_client_hook(settings), scheduler_hook(JOBS)],
    )
    return app
