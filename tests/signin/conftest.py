"""A stack of its own for the sign-in tests: the registry knows the gateway's public
address (for the metadata) and fails sign-ins quickly into the slow-down and the lock;
training and the loan ledger verify its tokens; a real nginx in front."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from otog_devstack import nginx
from otog_devstack.postgres import free_port
from otog_devstack.processes import ServiceProcess, stop_group

from tests.support.gateway import FUNCTIONAL_LIMITS, wait_for_gateway
from tests.support.stack import Databases, start_service
from tests.support.tokens import TokenFactory

REDIRECT_URI = "http://127.0.0.1:18999/callback"
APP_REDIRECT_URI = "th.go.mol.otog.test:/oauth/callback"
PASSWORD = "correct horse battery staple"

# Two failures are free, then 1 s waits, the fourth locks: fast enough for a test.
SIGNIN_ENV = {
    "REGISTRY_SIGNIN_DELAY_AFTER": "2",
    "REGISTRY_SIGNIN_MAX_DELAY_SECONDS": "1",
    "REGISTRY_SIGNIN_LOCK_AFTER": "4",
    "REGISTRY_SIGNIN_LOCK_SECONDS": "120",
    # Every test signs in from 127.0.0.1; the per-address rule is tested on its own.
    "REGISTRY_SIGNIN_ADDRESS_DELAY_AFTER": "1000",
}


@dataclass
class SignInStack:
    gateway_url: str
    registry: ServiceProcess
    admin: dict[str, str]

    def client(self, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.gateway_url, timeout=30, **kw)


@pytest.fixture(scope="session")
def signin_stack(
    databases: Databases,
    service_client_env: dict[str, dict[str, str]],
    data_dir: Path,
    log_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    tokens: TokenFactory,
) -> Iterator[SignInStack]:
    binary = nginx.ensure_nginx()
    gateway_port = free_port()
    url = f"http://127.0.0.1:{gateway_port}"
    started: dict[str, ServiceProcess] = {}
    proc = None
    try:
        started["registry"] = start_service(
            "registry",
            databases.live_urls["registry"],
            port=free_port(),
            data_dir=data_dir,
            log_dir=log_dir,
            extra_env={"REGISTRY_PUBLIC_BASE_URL": url, **SIGNIN_ENV},
        )
        registry_url = started["registry"].base_url
        for name in ("training", "loan-ledger"):
            started[name] = start_service(
                name,
                databases.live_urls[name],
                port=free_port(),
                data_dir=data_dir,
                log_dir=log_dir,
                registry_url=registry_url,
                extra_env=service_client_env[name],
            )
        conf = nginx.write_config(
            nginx.GatewayConfig(
                gateway_port=gateway_port,
                registry_port=started["registry"].port,
                training_port=started["training"].port,
                loan_ledger_port=started["loan-ledger"].port,
                run_dir=tmp_path_factory.mktemp("signin-gateway"),
                log_dir=log_dir,
                worker_processes="1",
                **FUNCTIONAL_LIMITS,
            )
        )
        proc = nginx.start(binary, conf, log_dir / "signin-gateway.log")
        wait_for_gateway(url, proc, log_dir)
        yield SignInStack(url, started["registry"], tokens.headers("admin"))
    finally:
        if proc is not None:
            stop_group(proc.pid)
        for p in started.values():
            p.stop()


@pytest_asyncio.fixture
async def gw(signin_stack: SignInStack) -> AsyncIterator[httpx.AsyncClient]:
    async with signin_stack.client() as client:
        yield client


async def create_app(
    gw: httpx.AsyncClient,
    admin: dict[str, str],
    scopes: list[str],
    redirect_uris: tuple[str, ...] = (REDIRECT_URI, APP_REDIRECT_URI),
) -> str:
    r = await gw.post(
        "/v1/clients",
        json={
            "name": f"Field app {uuid.uuid4().hex[:6]}",
            "type": "public",
            "redirect_uris": list(redirect_uris),
            "scopes": scopes,
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert "client_secret" not in body and body["type"] == "public"
    return str(body["client_id"])


async def create_user(
    gw: httpx.AsyncClient,
    admin: dict[str, str],
    scopes: list[str],
    province: str | None = None,
    password: str = PASSWORD,
) -> dict[str, Any]:
    username = f"officer.{uuid.uuid4().hex[:10]}"
    body: dict[str, Any] = {"username": username, "display_name": "เจ้าหน้าที่ทดสอบ", "scopes": scopes}
    if province:
        body["province"] = province
    r = await gw.post("/v1/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["has_password"] is False
    r = await gw.put(
        f"/v1/users/{user['username']}/password", json={"password": password}, headers=admin
    )
    assert r.status_code == 204, r.text
    return dict(user)


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class PageVisit:
    """The sign-in page as a browser saw it: its response, and its cookie jar."""

    response: httpx.Response
    browser: httpx.AsyncClient

    @property
    def csrf(self) -> str:
        found = CSRF_FIELD.search(self.response.text)
        assert found, self.response.text
        return found.group(1)

    async def submit(self, username: str, password: str, **extra: str) -> httpx.Response:
        return await self.browser.post(
            str(self.response.url),
            data={"username": username, "password": password, "csrf_token": self.csrf, **extra},
        )


async def open_page(browser: httpx.AsyncClient, url: str) -> PageVisit:
    response = await browser.get(url)
    return PageVisit(response, browser)
