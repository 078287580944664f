"""Fixtures of the loan-ledger tests.

``loans``: an HTTP client on the in-process service (one rolled-back
transaction per test) that verifies tokens against, and asks about groups, the
real registry process. ``groups``: creates occupation groups in that registry
over HTTP.
"""

from __future__ import annotations

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


# Subdistricts in three provinces (DOPA codes).
BANGKOK = "100101"  # Phra Borom Maha Ratchawang, Phra Nakhon, Bangkok (10)
CHIANG_MAI = "500101"  # Si Phum, Mueang Chiang Mai, Chiang Mai (50)


class Groups:
    """Occupation groups created in the live registry, as the registry's users would."""

    def __init__(self, base_url: str, tokens: TokenFactory) -> None:
        self.base_url = base_url
        self.headers = tokens.headers("registry:read", "registry:write", client_id="registrar")

    async def create(self, subdistrict: str = BANGKOK, stage: str | None = None) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as client:
            r = await client.post(
                "/v1/groups",
                json={
                    "name_th": f"กลุ่มทอผ้า {uuid.uuid4().hex[:8]}",
                    "subdistrict_code": subdistrict,
                    "occupation": "textiles_weaving",
                },
                headers=self.headers,
            )
            assert r.status_code == 201, r.text
            group = dict(r.json())
            if stage is not None:
                changed = await client.post(
                    f"/v1/groups/{group['id']}/stage-changes",
                    json={"stage": stage},
                    headers=self.headers,
                )
                assert changed.status_code == 201, changed.text
                group["status"] = stage
            return group


@pytest.fixture(scope="session")
def groups(live_registry: ServiceProcess, tokens: TokenFactory) -> Groups:
    return Groups(live_registry.base_url, tokens)


@pytest_asyncio.fixture(scope="session")
async def loans_app_registry_down(
    databases: Databases,
    live_registry: ServiceProcess,
    service_client_env: dict[str, dict[str, str]],
    data_dir: Path,
) -> AsyncIterator[FastAPI]:
    """The loan ledger configured with a registry address where nothing listens
    (tokens are still verified against the live registry's keys)."""
    from otog_devstack.postgres import free_port
    from otog_loan_ledger.main import create_app
    from otog_loan_ledger.settings import Settings

    env = service_client_env["loan-ledger"]
    app = create_app(
        Settings(
            database_url=databases.urls["loan-ledger"],
            jwks_url=f"{live_registry.base_url}/v1/.well-known/jwks.json",
            registry_url=f"http://127.0.0.1:{free_port()}",
            registry_client_id=env["LOANS_REGISTRY_CLIENT_ID"],
            registry_client_secret=env["LOANS_REGISTRY_CLIENT_SECRET"],
            data_dir=data_dir,
            log_json=False,
        )
    )
    async with app.router.lifespan_context(app):
        yield app


class Flow:
    """Drives a loan through its lifecycle over HTTP."""

    def __init__(self, client: httpx.AsyncClient, auth: Auth, groups: Groups) -> None:
        self.client = client
        self.auth = auth
        self.groups = groups

    async def fund(self, **overrides: Any) -> dict[str, Any]:
        return await create_fund(self.client, self.auth, **overrides)

    async def apply(
        self,
        fund: dict[str, Any],
        principal_satang: int = 300_000 * THB,
        group: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        group = group or await self.groups.create()
        r = await self.client.post(
            "/v1/loans",
            json={
                "fund_id": fund["id"],
                "group_id": group["id"],
                "principal_satang": principal_satang,
                "purpose": "Looms and yarn",
            },
            headers=headers or self.auth.officer(),
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def act(
        self, loan: dict[str, Any], action: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/loans/{loan['id']}/{action}", json=body, headers=self.auth.officer()
        )

    async def active(
        self,
        fund: dict[str, Any] | None = None,
        principal_satang: int = 300_000 * THB,
        disbursed_on: str = "2025-01-15",
    ) -> dict[str, Any]:
        fund = fund or await self.fund()
        loan = await self.apply(fund, principal_satang)
        assert (await self.act(loan, "approve")).status_code == 200
        r = await self.act(loan, "disburse", {"disbursed_on": disbursed_on})
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def repay(
        self, loan: dict[str, Any], amount: int, paid_on: str, key: str | None = None
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/loans/{loan['id']}/repayments",
            json={"amount_satang": amount, "paid_on": paid_on},
            headers=self.auth.with_key(self.auth.officer(), key),
        )

    async def get(self, loan: dict[str, Any], path: str = "", **params: str) -> dict[str, Any]:
        r = await self.client.get(
            f"/v1/loans/{loan['id']}{path}", params=params, headers=self.auth.reader()
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def fund_now(self, fund_id: str) -> dict[str, Any]:
        r = await self.client.get(f"/v1/funds/{fund_id}", headers=self.auth.reader())
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def trial_balance(self, fund_id: str) -> dict[str, Any]:
        r = await self.client.get(f"/v1/funds/{fund_id}/trial-balance", headers=self.auth.reader())
        assert r.status_code == 200, r.text
        tb = dict(r.json())
        assert tb["balanced"] and tb["reconciled"], tb
        return tb

    async def ledger(self, fund_id: str, **params: str) -> list[dict[str, Any]]:
        r = await self.client.get(
            f"/v1/funds/{fund_id}/ledger",
            params={"limit": "200", **params},
            headers=self.auth.reader(),
        )
        assert r.status_code == 200, r.text
        return list(r.json()["items"])


@pytest.fixture
def flow(loans: httpx.AsyncClient, auth: Auth, groups: Groups) -> Flow:
    return Flow(loans, auth, groups)
