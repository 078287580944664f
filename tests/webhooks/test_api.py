"""The subscription API's rules, in process (rolled back): ownership, event types,
secrets, ETags, and the SSRF checks at subscription time."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.tokens import TokenFactory

Pair = tuple[httpx.AsyncClient, AsyncSession]
GOOD_URL = "https://partner.example/otog/hooks"


def _auth(
    tokens: TokenFactory, *scopes: str, client: str = "partner-a", province: str | None = None
) -> dict[str, str]:
    return tokens.headers(*scopes, province=province, client_id=client)


async def _create(
    http: httpx.AsyncClient, headers: dict[str, str], **body: object
) -> httpx.Response:
    return await http.post(
        "/v1/webhooks", json={"url": GOOD_URL, "event_types": ["*"], **body}, headers=headers
    )


async def test_create_shows_the_secret_once(registry_http: Pair, tokens: TokenFactory) -> None:
    http, _ = registry_http
    headers = _auth(tokens, "registry:read", province="15")
    r = await _create(
        http, headers, event_types=["group.created", "group.stage_changed"], description="fairs"
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/v1/webhooks/{body['id']}"
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
    assert body["client_id"] == "partner-a"
    assert body["province_code"] == "15"
    assert body["event_types"] == ["group.created", "group.stage_changed"]
    assert body["enabled"] is True

    got = await http.get(f"/v1/webhooks/{body['id']}", headers=headers)
    assert got.status_code == 200
    assert "secret" not in got.json()
    assert got.headers["etag"]


async def test_clients_see_their_own_and_admin_sees_all(
    registry_http: Pair, tokens: TokenFactory
) -> None:
    http, _ = registry_http
    a = _auth(tokens, "registry:read", client="partner-a")
    b = _auth(tokens, "loans:read", client="partner-b")
    admin = _auth(tokens, "admin", client="ops")
    mine = (await _create(http, a)).json()["id"]
    theirs = (await _create(http, b)).json()["id"]

    listed = (await http.get("/v1/webhooks", headers=a)).json()["items"]
    assert [w["id"] for w in listed] == [mine]
    assert (await http.get(f"/v1/webhooks/{theirs}", headers=a)).status_code == 404
    assert (await http.delete(f"/v1/webhooks/{theirs}", headers=a)).status_code == 404
    everything = {w["id"] for w in (await http.get("/v1/webhooks", headers=admin)).json()["items"]}
    assert {mine, theirs} <= everything
    assert (await http.get("/v1/webhooks", headers={})).status_code == 401


@pytest.mark.parametrize(
    ("event_types", "field"),
    [
        (["group.teleported"], "body.event_types.0"),
        (["*", "group.created"], "body.event_types"),
        ([], "body.event_types"),
        (["loan.approved"], "body.event_types"),  # needs loans:read
    ],
)
async def test_event_types_are_checked(
    registry_http: Pair, tokens: TokenFactory, event_types: list[str], field: str
) -> None:
    http, _ = registry_http
    r = await _create(http, _auth(tokens, "registry:read"), event_types=event_types)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"] == field for e in r.json()["errors"]), r.json()


@pytest.mark.parametrize(
    "url",
    [
        "http://partner.example/hook",  # plain http, and loopback is not allowed here
        "ftp://partner.example/hook",
        "https://user:secret@partner.example/hook",
        "https://10.0.0.1/hook",
        "https://172.16.5.4/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://127.0.0.1/hook",
        "https://localhost/hook",  # resolved by the system resolver: loopback
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[::ffff:93.184.215.14]/hook",
        "https://[fd12:3456::1]/hook",
        "https://[fe80::1]/hook",
        "https://224.0.0.1/hook",
        "https://0.0.0.0/hook",
        "https://100.64.0.1/hook",
        "https://internal.example/hook",
        "https://metadata.example/hook",
        "https://mixed.example/hook",  # one address public, one private
        "https://does-not-resolve.invalid/hook",
    ],
)
async def test_targets_that_are_refused(
    registry_http: Pair, tokens: TokenFactory, url: str
) -> None:
    http, _ = registry_http
    r = await _create(http, _auth(tokens, "registry:read"), url=url)
    assert r.status_code == 422, (url, r.text)
    assert r.json()["errors"][0]["field"] == "body.url"


@pytest.mark.parametrize("url", [GOOD_URL, "https://93.184.215.14:8443/hook?k=v"])
async def test_targets_that_are_allowed(
    registry_http: Pair, tokens: TokenFactory, url: str
) -> None:
    http, _ = registry_http
    r = await _create(http, _auth(tokens, "registry:read"), url=url)
    assert r.status_code == 201, r.text


async def test_patch_honours_if_match_and_toggles_enabled(
    registry_http: Pair, tokens: TokenFactory
) -> None:
    http, _ = registry_http
    headers = _auth(tokens, "registry:read")
    created = await _create(http, headers)
    hook = created.json()["id"]
    etag = created.headers["etag"]

    off = await http.patch(
        f"/v1/webhooks/{hook}", json={"enabled": False}, headers={**headers, "If-Match": etag}
    )
    assert off.status_code == 200, off.text
    assert off.json()["enabled"] is False
    assert off.json()["disabled_reason"] == "disabled by its client"
    stale = await http.patch(
        f"/v1/webhooks/{hook}", json={"enabled": True}, headers={**headers, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert (await http.post(f"/v1/webhooks/{hook}/ping", headers=headers)).status_code == 409

    on = await http.patch(
        f"/v1/webhooks/{hook}",
        json={"enabled": True, "description": None, "event_types": ["product.created"]},
        headers={**headers, "If-Match": off.headers["etag"]},
    )
    assert on.status_code == 200, on.text
    assert on.json()["enabled"] is True
    assert on.json()["disabled_reason"] is None
    assert on.json()["event_types"] == ["product.created"]

    private = await http.patch(
        f"/v1/webhooks/{hook}", json={"url": "https://10.9.8.7/"}, headers=headers
    )
    assert private.status_code == 422
    nulled = await http.patch(f"/v1/webhooks/{hook}", json={"url": None}, headers=headers)
    assert nulled.status_code == 422


async def test_rotate_ping_delete(registry_http: Pair, tokens: TokenFactory) -> None:
    http, _ = registry_http
    headers = _auth(tokens, "registry:read")
    created = (await _create(http, headers)).json()
    hook = created["id"]

    rotated = await http.post(f"/v1/webhooks/{hook}/rotate-secret", headers=headers)
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"]
    overlap_ends = datetime.fromisoformat(rotated.json()["previous_secret_expires_at"])
    assert timedelta(hours=23) < overlap_ends - datetime.now(UTC) <= timedelta(hours=24)

    ping = await http.post(f"/v1/webhooks/{hook}/ping", headers=headers)
    assert ping.status_code == 202
    log = (await http.get(f"/v1/webhooks/{hook}/deliveries", headers=headers)).json()["items"]
    assert [(d["event_id"], d["event_type"], d["status"], d["attempt"]) for d in log] == [
        (ping.json()["event_id"], "webhook.ping", "pending", 0)
    ]

    empty = await http.post(
        f"/v1/webhooks/{hook}/replay",
        json={"since": "2025-01-02T00:00:00+07:00", "until": "2025-01-01T00:00:00+07:00"},
        headers=headers,
    )
    assert empty.status_code == 422
    naive = await http.post(
        f"/v1/webhooks/{hook}/replay", json={"since": "2025-01-01T00:00:00"}, headers=headers
    )
    assert naive.status_code == 422

    assert (await http.delete(f"/v1/webhooks/{hook}", headers=headers)).status_code == 204
    assert (await http.get(f"/v1/webhooks/{hook}", headers=headers)).status_code == 404


async def test_a_workers_own_sign_in_cannot_manage_webhooks(
    registry_http: Pair, tokens: TokenFactory
) -> None:
    http, _ = registry_http
    headers = tokens.headers("self", client_id="app", sub="w1", worker_id="w1")
    r = await _create(http, headers)
    assert r.status_code == 403, r.text
