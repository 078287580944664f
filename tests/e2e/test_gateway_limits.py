"""Rate limits, CORS, security headers, docs and the merged document at the real nginx."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from otog_devstack import nginx
from otog_devstack.postgres import free_port
from otog_devstack.processes import stop_group

from tests.conftest import Stack

pytestmark = pytest.mark.e2e

ORIGIN = "https://dashboard.commerce.example.go.th"


@pytest.fixture(scope="module")
def strict_gateway(
    live_stack: Stack, log_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A second nginx in front of the same services, with tiny limits and a CORS origin."""
    run_dir = tmp_path_factory.mktemp("strict-gateway")
    port = free_port()
    conf = nginx.write_config(
        nginx.GatewayConfig(
            gateway_port=port,
            registry_port=live_stack.services["registry"].port,
            training_port=live_stack.services["training"].port,
            loan_ledger_port=live_stack.services["loan-ledger"].port,
            run_dir=run_dir,
            log_dir=log_dir,
            worker_processes="1",
            rate_per_client="2r/s",
            burst_per_client=3,
            rate_per_ip_public="2r/s",
            burst_per_ip_public=3,
            rate_per_ip_token="1r/s",
            burst_per_ip_token=1,
            cors_origins=(ORIGIN,),
        )
    )
    proc = nginx.start(nginx.ensure_nginx(), conf, log_dir / "strict-gateway.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/v1/openapi.json", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield url
    finally:
        stop_group(proc.pid)


@pytest_asyncio.fixture
async def strict(strict_gateway: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=strict_gateway, timeout=10) as client:
        yield client


async def _burst(
    client: httpx.AsyncClient, n: int, method: str, path: str, **kw: object
) -> list[httpx.Response]:
    return await asyncio.gather(*(client.request(method, path, **kw) for _ in range(n)))  # type: ignore[arg-type]


async def test_public_reads_are_limited_per_ip(strict: httpx.AsyncClient) -> None:
    responses = await _burst(strict, 12, "GET", "/v1/health")
    limited = [r for r in responses if r.status_code == 429]
    assert limited, [r.status_code for r in responses]
    r = limited[0]
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == "1"
    assert r.json()["type"] == "/problems/too-many-requests"
    assert r.json()["request_id"] == r.headers["x-request-id"]


async def test_clients_are_limited_separately(strict: httpx.AsyncClient) -> None:
    await asyncio.sleep(2)
    a = await _burst(
        strict, 10, "GET", "/v1/clients/me", headers={"Authorization": "Bearer client-a"}
    )
    b = await strict.get("/v1/clients/me", headers={"Authorization": "Bearer client-b"})
    assert any(r.status_code == 429 for r in a)
    assert b.status_code == 401  # reached the registry: client b has its own budget


async def test_token_endpoint_is_limited_per_ip(strict: httpx.AsyncClient) -> None:
    responses = await _burst(
        strict, 6, "POST", "/v1/oauth/token", data={"grant_type": "client_credentials"}
    )
    assert any(r.status_code == 429 for r in responses)


async def test_cors_preflight_for_allowed_origin(strict: httpx.AsyncClient) -> None:
    await asyncio.sleep(2)
    r = await strict.options(
        "/v1/groups",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "Authorization" in r.headers["access-control-allow-headers"]
    assert "X-Request-ID" in r.headers["access-control-expose-headers"]


async def test_cors_refuses_other_origins(strict: httpx.AsyncClient) -> None:
    await asyncio.sleep(1)
    r = await strict.get("/v1/health", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in r.headers
    r = await strict.get("/v1/health", headers={"Origin": ORIGIN})
    assert r.headers["access-control-allow-origin"] == ORIGIN


async def test_security_headers(strict: httpx.AsyncClient) -> None:
    await asyncio.sleep(1)
    r = await strict.get("/v1/health")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "server" not in r.headers or r.headers["server"] == "nginx"


async def test_docs_are_served_offline(live_stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=live_stack.gateway_url) as gw:
        page = await gw.get("/docs")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "หนึ่งตำบล" in page.text
        assert "http" not in page.text.split("<body>")[1].replace('charset="utf-8"', "")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        for asset, media_type in (
            ("/docs/swagger-ui-bundle.js", "text/javascript"),
            ("/docs/swagger-ui.css", "text/css"),
            ("/docs/otog-init.js", "text/javascript"),
        ):
            r = await gw.get(asset)
            assert r.status_code == 200 and len(r.content) > 100, asset
            # With nosniff, a script served under another type is never run.
            assert r.headers["content-type"].startswith(media_type), asset
            assert r.headers["x-content-type-options"] == "nosniff"
        spec = await gw.get("/v1/openapi.json")
        assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.1")
        assert (await gw.post("/docs")).status_code == 405


async def test_gateway_errors_are_problems(live_stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=live_stack.gateway_url) as gw:
        r = await gw.request("PROPFIND", "/v1/openapi.json")
        assert r.status_code == 405
        assert r.headers["content-type"].startswith("application/problem+json")


@pytest.fixture(scope="module")
def broken_gateway(log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx whose registry is down (nothing listens) and whose training never answers."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    run_dir = tmp_path_factory.mktemp("broken-gateway")
    port = free_port()
    conf = nginx.write_config(
        nginx.GatewayConfig(
            gateway_port=port,
            registry_port=free_port(),
            training_port=silent.getsockname()[1],
            loan_ledger_port=free_port(),
            run_dir=run_dir,
            log_dir=log_dir,
            worker_processes="1",
            proxy_read_timeout="1s",
        )
    )
    proc = nginx.start(nginx.ensure_nginx(), conf, log_dir / "broken-gateway.log")
    time.sleep(0.5)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_group(proc.pid)
        silent.close()


async def test_upstream_down_is_problem_502(broken_gateway: str) -> None:
    async with httpx.AsyncClient(base_url=broken_gateway, timeout=10) as gw:
        r = await gw.get("/v1/provinces")
    assert r.status_code == 502
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/bad-gateway"
    assert r.json()["request_id"] == r.headers["x-request-id"]


async def test_upstream_timeout_is_problem_504(broken_gateway: str) -> None:
    async with httpx.AsyncClient(base_url=broken_gateway, timeout=10) as gw:
        r = await gw.get("/v1/courses")
    assert r.status_code == 504
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/gateway-timeout"
