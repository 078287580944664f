"""`uvicorn otog_loan_ledger.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from otog_shared.app import create_app as create_service_app
from otog_shared.http import ServiceClient

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

    @asynccontextmanager
    async def registry_client(app: FastAPI) -> AsyncIterator[None]:
        app.state.registry = ServiceClient(
            settings.registry_url,
            name="registry",
            timeout=settings.http_timeout_seconds,
            connect_timeout=settings.http_connect_timeout_seconds,
            retries=settings.http_retries,
        )
        try:
            yield
        finally:
            await app.state.registry.aclose()

    return create_service_app(
        settings,
        service="loan-ledger",
        title="OTOG Loan Ledger",
        description=DESCRIPTION,
        routers=[],
        openapi_tags=OPENAPI_TAGS,
        hooks=[registry_client],
    )
