"""Through the real nginx to the real services."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from otog_registry.cli import _create
from otog_shared.auth import TokenVerifier
from otog_shared.settings import ServiceSettings

from tests.conftest import Stack
from tests.support.stack import Databases
from tests.support.tokens import TokenFactory

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture
async def gw(live_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_stack.gateway_url, timeout=10) as client:
        yield client


async def test_health_through_gateway(gw: httpx.AsyncClient) -> None:
    r = await gw.get("/v1/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert len(r.headers["x-request-id"]) >= 16
    for name in ("registry", "training", "loan-ledger"):
        ready = await gw.get(f"/v1/health/{name}")
        assert ready.status_code == 200, name
        assert ready.json()["service"] == name


async def test_request_id_passes_through_and_back(gw: httpx.AsyncClient) -> None:
    r = await gw.get("/v1/health", headers={"X-Request-ID": "partner-req-42"})
    assert r.headers.get_list("x-request-id") == ["partner-req-42"]


async def test_unknown_path_is_problem_404(gw: httpx.AsyncClient) -> None:
    r = await gw.get("/v1/nowhere")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == "/problems/not-found" and body["request_id"] == r.headers["x-request-id"]


async def test_oversized_body_is_problem_413(gw: httpx.AsyncClient) -> None:
    r = await gw.post(
        "/v1/clients",
        content=b"x" * (2 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/payload-too-large"


async def test_token_flow_through_gateway(gw: httpx.AsyncClient, databases: Databases) -> None:
    creds = await _create(
        databases.live_urls["registry"], "e2e", ["registry:read", "loans:read"], "10"
    )
    r = await gw.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = await gw.get("/v1/clients/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["province"] == "10"
    assert (await gw.get("/v1/clients/me")).status_code == 401


async def test_other_services_verify_tokens_with_jwks_over_http(
    gw: httpx.AsyncClient, live_stack: Stack, databases: Databases
) -> None:
    """Training and the loan ledger verify with keys fetched from the registry's JWKS URL."""
    creds = await _create(databases.live_urls["registry"], "jwks", ["training:read"], None)
    token = (
        await gw.post(
            "/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            },
        )
    ).json()["access_token"]
    settings = ServiceSettings(jwks_url=f"{live_stack.gateway_url}/v1/.well-known/jwks.json")
    verifier = TokenVerifier.from_settings(settings)
    try:
        principal = await verifier.verify(token)
    finally:
        await verifier.aclose()
    assert principal.client_id == creds["client_id"]
    assert principal.scopes == frozenset({"training:read"})


async def test_service_token_reaches_registry(
    live_stack: Stack, service_client_env: dict[str, dict[str, str]]
) -> None:
    """A service authenticates to the registry with its own credentials."""
    from otog_shared.http import ClientCredentialsToken, ServiceClient

    env = service_client_env["training"]
    registry = live_stack.services["registry"].base_url
    client = ServiceClient(
        registry,
        name="registry",
        token=ClientCredentialsToken(
            f"{registry}/v1/oauth/token",
            env["TRAINING_REGISTRY_CLIENT_ID"],
            env["TRAINING_REGISTRY_CLIENT_SECRET"],
        ),
    )
    try:
        me = await client.get("/v1/clients/me", headers={"X-Request-ID": "svc-call-1"})
    finally:
        await client.aclose()
    assert me.status_code == 200
    assert me.json()["scopes"] == ["registry:read"]
    assert me.headers["x-request-id"] == "svc-call-1"


async def test_unreachable_dependency_is_503() -> None:
    from otog_devstack.postgres import free_port
    from otog_shared.errors import DependencyUnavailable
    from otog_shared.http import ServiceClient

    client = ServiceClient(
        f"http://127.0.0.1:{free_port()}", name="registry", retries=1, backoff_seconds=0.01
    )
    try:
        with pytest.raises(DependencyUnavailable):
            await client.get("/v1/workers/x")
    finally:
        await client.aclose()


async def test_large_body_passes_the_gateway(gw: httpx.AsyncClient, tokens: TokenFactory) -> None:
    """Bodies above nginx's memory buffer are spooled to disk by an unprivileged worker."""
    body = {"name": "x" * 200_000, "scopes": []}
    r = await gw.post("/v1/clients", json=body, headers=tokens.headers("admin"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
