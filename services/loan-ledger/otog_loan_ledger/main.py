"""`uvicorn otog_loan_ledger.main:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI
from otog_shared.app import create_app as create_service_app
from otog_shared.http import registry_client_hook

from otog_loan_ledger.settings import Settings

DESCRIPTION = (
    "Loan funds and budgets, loan applications, approvals, disbursement, "
    "24-month schedules, repayments and the double-entry ledger."
)

OPENAPI_TAGS = [
    {"name": "health", "description": "Liveness and readiness."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    return create_service_app(
        settings,
        service="loan-ledger",
        title="OTOG Loan Ledger",
        description=DESCRIPTION,
        routers=[],
        openapi_tags=OPENAPI_TAGS,
        hooks=[registry_client_hook(settings)],
    )
