"""The registry through the real nginx gateway: token, writes, streamed import, catalogue."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from otog_registry.cli import _create

from tests.conftest import Stack
from tests.registry.conftest import KO_TAN, make_national_id, worker_body
from tests.support.stack import Databases

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture
async def gw(live_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_stack.gateway_url, timeout=60) as client:
        yield client


async def test_registry_through_gateway(gw: httpx.AsyncClient, databases: Databases) -> None:
    creds = await _create(
        databases.live_urls["registry"],
        "Kamphaeng Phet labour office",
        ["registry:read", "registry:write"],
        "62",
    )
    token = await gw.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    r = await gw.get("/v1/subdistricts/620413")
    assert r.status_code == 200 and r.json()["name_th"] == "เกาะตาล"

    r = await gw.post("/v1/workers", json=worker_body(subdistrict_code=KO_TAN), headers=headers)
    assert r.status_code == 201, r.text
    r = await gw.post(
        "/v1/groups",
        json={
            "name_th": "วิสาหกิจชุมชนหมูแดดเดียวเกาะตาล",
            "subdistrict_code": KO_TAN,
            "occupation": "food_processing",
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    group = r.json()
    r = await gw.post(
        f"/v1/groups/{group['id']}/products",
        json={"name_th": "หมูแดดเดียว", "price_satang": 12000},
        headers=headers,
    )
    assert r.status_code == 201

    # A streamed (chunked) CSV body goes through the gateway unbuffered.
    async def body() -> AsyncIterator[bytes]:
        yield b"national_id,first_name_th,last_name_th,birth_date,subdistrict_code\n"
        for i in range(2_000):
            yield f"{make_national_id()},ชื่อ{i},สกุล,1980-01-01,{KO_TAN}\n".encode()

    r = await gw.post(
        "/v1/workers/import", content=body(), headers={**headers, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2_000

    r = await gw.get("/v1/catalog/products", params={"province": "62"})
    assert r.status_code == 200 and r.headers["etag"]
    assert any(p["group"]["id"] == group["id"] for p in r.json()["items"])

    # Large bodies and responses pass the gateway whole (nothing spills to temp files).
    r = await gw.get("/v1/workers", params={"province": "62", "limit": 200}, headers=headers)
    assert r.status_code == 200 and len(r.json()["items"]) == 200 and len(r.content) > 64_000
    r = await gw.patch(
        f"/v1/groups/{group['id']}", json={"description": "ก" * 9_000}, headers=headers
    )
    assert r.status_code == 200, r.text

    r = await gw.get("/v1/workers", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_methods_through_the_gateway(gw: httpx.AsyncClient, live_stack: Stack) -> None:
    """405 names every method of the path, in all three services; HEAD and OPTIONS are
    answered alike for each. TRACE and CONNECT never pass nginx: it answers them with a 405
    problem of its own, which has no `Allow` (it does not know the path's methods)."""
    for method, path, allow in [
        ("PATCH", "/v1/groups/occupations", "GET, HEAD, OPTIONS"),
        ("PUT", "/v1/workers/import", "OPTIONS, POST"),
        ("DELETE", "/v1/groups", "GET, HEAD, OPTIONS, POST"),
        ("PUT", "/v1/courses", "GET, HEAD, OPTIONS, POST"),
        ("DELETE", "/v1/loans", "GET, HEAD, OPTIONS, POST"),
        ("QUERY", "/v1/funds", "GET, HEAD, OPTIONS, POST"),
    ]:
        r = await gw.request(method, path)
        assert r.status_code == 405, (method, path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers["allow"] == allow, (method, path)
        options = await gw.options(path)
        assert options.status_code == 204 and options.headers["allow"] == allow, path
    for path in ("/v1/groups/not-a-uuid", "/v1/loans/12345", "/v1/training-sessions/x"):
        r = await gw.get(path)
        assert r.status_code == 404, path
        assert r.json()["type"] == "/problems/not-found"
    get = await gw.get("/v1/groups/occupations")
    head = await gw.head("/v1/groups/occupations")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-type"] == get.headers["content-type"]
    for method in ("TRACE", "CONNECT"):
        r = await gw.request(method, "/v1/groups")
        assert r.status_code == 405, method
        assert r.json()["type"] == "/problems/method-not-allowed"
