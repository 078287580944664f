"""Fixtures of the loan-ledger tests.

``loans``: an HTTP client on the in-process service (one rolled-back
transaction per test) that verifies tokens against, and asks about groups, the
real registry process. ``reg``: helpers that create workers and groups in that
registry over HTTP.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from otog_devstack.processes import ServiceProcess
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.stack import Databases, app_client
from tests.support.tokens import TokenFactory

THB = 100  # satang


def national_id() -> str:
    """A fresh random 13-digit Thai national ID with a valid check digit."""
    first = str(random.randint(1, 8))
    body = first + "".join(str(random.randint(0, 9)) for _ in range(11))
    total = sum(int(d) * w for d, w in zip(body, range(13, 1, -1), strict=True))
    return body + str((11 - total % 11) % 10)


def today_bkk() -> date:
    from otog_loan_ledger.clock import bangkok_today

    return bangkok_today()


def fund_body(**overrides: Any) -> dict[str, Any]:
    today = today_bkk()
    body: dict[str, Any] = {
        "name": f"Test fund {uuid.uuid4().hex[:10]}",
        "funding_source": "Ministry of Labour",
        "budget_satang": 5_000_000 * THB,
        "applications_open_on": (today - timedelta(days=30)).isoformat(),
        "applications_close_on": (today + timedelta(days=30)).isoformat(),
        "min_principal_satang": 50_000 * THB,
        "max_principal_satang": 300_000 * THB,
        "term_months": 24,
        "installment_multiple_satang": 100,
        "revolving": False,
    }
    body.update(overrides)
    return body


class Auth:
    """Authorization headers for the usual callers."""

    def __init__(self, tokens: TokenFactory) -> None:
        self.tokens = tokens

    def officer(self, province: str | None = None) -> dict[str, str]:
        """A provincial employment office: reads, takes applications, approves."""
        return self.tokens.headers(
            "loans:read",
            "loans:write",
            "loans:approve",
            province=province,
            client_id=f"officer-{province or 'national'}",
        )

    def reader(self, province: str | None = None) -> dict[str, str]:
        return self.tokens.headers("loans:read", province=province, client_id="reader")

    def writer(self, province: str | None = None) -> dict[str, str]:
        return self.tokens.headers(
            "loans:read", "loans:write", province=province, client_id="writer"
        )

    def with_key(self, headers: dict[str, str], key: str | None = None) -> dict[str, str]:
        return {**headers, "Idempotency-Key": key or uuid.uuid4().hex}


@pytest.fixture(scope="session")
def auth(tokens: TokenFactory) -> Auth:
    return Auth(tokens)


@pytest_asyncio.fixture(scope="session")
async def loans_app(
    databases: Databases,
    live_registry: ServiceProcess,
    service_client_env: dict[str, dict[str, str]],
    data_dir: Path,
) -> AsyncIterator[FastAPI]:
    from otog_loan_ledger.main import create_app
    from otog_loan_ledger.settings import Settings

    env = service_client_env["loan-ledger"]
    app = create_app(
        Settings(
            database_url=databases.urls["loan-ledger"],
            jwks_url=f"{live_registry.base_url}/v1/.well-known/jwks.json",
            registry_url=live_registry.base_url,
            registry_client_id=env["LOANS_REGISTRY_CLIENT_ID"],
            registry_client_secret=env["LOANS_REGISTRY_CLIENT_SECRET"],
            data_dir=data_dir,
            log_json=False,
        )
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture
async def loans_session(
    loans_app: FastAPI,
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncSession]]:
    async with app_client(loans_app) as pair:
        yield pair


@pytest.fixture
def loans(loans_session: tuple[httpx.AsyncClient, AsyncSession]) -> httpx.AsyncClient:
    """HTTP client on the in-process loan ledger (changes rolled back after the test)."""
    return loans_session[0]


@pytest.fixture
def db(loans_session: tuple[httpx.AsyncClient, AsyncSession]) -> AsyncSession:
    """The test's session on the loan-ledger database (inside the rolled-back transaction)."""
    return loans_session[1]


async def create_fund(client: httpx.AsyncClient, auth: Auth, **overrides: Any) -> dict[str, Any]:
    r = await client.post("/v1/funds", json=fund_body(**overrides), headers=auth.officer())
    assert r.status_code == 201, r.text
    return dict(r.json())
