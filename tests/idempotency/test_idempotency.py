"""``Idempotency-Key`` on the POSTs of all three services, through the real gateway.

A representative POST of each service: the same key and body give the first response
again and create nothing more; another body with that key is 422; a client that gave
up before the answer came (the server committed, the response was lost) sends again
and still ends up with one resource.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.conftest import Stack
from tests.loans.conftest import BANGKOK, THB, Auth, fund_body
from tests.registry.conftest import group_body, worker_body
from tests.support.tokens import TokenFactory
from tests.training.helpers import course_body, session_body

pytestmark = pytest.mark.e2e

Count = Callable[[], Awaitable[int]]


@pytest_asyncio.fixture
async def gw(live_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_stack.gateway_url, timeout=20) as client:
        yield client


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def _count(gw: httpx.AsyncClient, url: str, headers: dict[str, str]) -> int:
    r = await gw.get(url, params={"limit": 100}, headers=headers)
    assert r.status_code == 200, r.text
    return len(r.json()["items"])


async def assert_idempotent(
    gw: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    other_body: dict[str, Any],
    headers: dict[str, str],
    count: Count,
) -> httpx.Response:
    """The same key and body twice: one resource, the same response; other body: 422."""
    before = await count()
    key = _key()
    first = await gw.post(url, json=body, headers={**headers, **key})
    assert first.status_code in (200, 201), first.text
    again = await gw.post(url, json=body, headers={**headers, **key})
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    # The same JSON written otherwise (key order, spacing) is the same request.
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    respaced = await gw.post(
        url,
        content=reordered,
        headers={**headers, **key, "Content-Type": "application/json"},
    )
    assert respaced.status_code == first.status_code and respaced.content == first.content
    assert await count() == before + 1

    reused = await gw.post(url, json=other_body, headers={**headers, **key})
    assert reused.status_code == 422, reused.text
    assert reused.headers["content-type"].startswith("application/problem+json")
    assert reused.json()["type"] == "/problems/idempotency-key-reused"
    assert await count() == before + 1
    return first


async def assert_lost_response_resent_once(
    live_stack: Stack,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    count: Count,
) -> None:
    """The client gives up before the answer (a read timeout far below any request's
    time), then sends again with the same key until it has an answer: one resource."""
    before = await count()
    key = _key()
    async with httpx.AsyncClient(
        base_url=live_stack.gateway_url, timeout=httpx.Timeout(10, read=0.0005)
    ) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            await impatient.post(url, json=body, headers={**headers, **key})
    async with httpx.AsyncClient(base_url=live_stack.gateway_url, timeout=20) as patient:
        for _ in range(100):
            r = await patient.post(url, json=body, headers={**headers, **key})
            # 409 while the first request is still running: its answer comes next time.
            if r.status_code != 409:
                break
            assert r.json()["type"] == "/problems/idempotency-key-in-flight"
            await asyncio.sleep(0.05)
        assert r.status_code in (200, 201), r.text
        replay = await patient.post(url, json=body, headers={**headers, **key})
        assert replay.content == r.content
    assert await count() == before + 1


async def test_worker(gw: httpx.AsyncClient, tokens: TokenFactory) -> None:
    headers = tokens.headers("registry:read", "registry:write")
    body = worker_body()
    created: list[str] = []

    async def count() -> int:
        # National IDs are unique: the worker exists once or not at all.
        r = await gw.post(
            "/v1/workers/search", json={"national_id": body["national_id"]}, headers=headers
        )
        if r.status_code == 200:
            created.append(r.json()["id"])
            return 1
        assert r.status_code == 404, r.text
        return 0

    first = await assert_idempotent(
        gw, "/v1/workers", body, {**body, "first_name_th": "สมหญิง"}, headers, count
    )
    assert set(created) == {first.json()["id"]}
    # Without the key the same body is a new request: refused, the worker exists.
    assert (await gw.post("/v1/workers", json=body, headers=headers)).status_code == 409


async def test_group_member_and_visit(
    gw: httpx.AsyncClient, live_stack: Stack, tokens: TokenFactory
) -> None:
    headers = tokens.headers("registry:read", "registry:write")
    group = await gw.post("/v1/groups", json=group_body(), headers={**headers, **_key()})
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    workers = []
    for _ in range(2):
        r = await gw.post("/v1/workers", json=worker_body(), headers=headers)
        assert r.status_code == 201, r.text
        workers.append(r.json()["id"])

    members = f"/v1/groups/{group_id}/members"
    await assert_idempotent(
        gw,
        members,
        {"worker_id": workers[0], "role": "member"},
        {"worker_id": workers[1], "role": "member"},
        headers,
        lambda: _count(gw, members, headers),
    )

    visits = f"/v1/groups/{group_id}/visits"
    visit = {
        "visited_on": "2025-04-10",
        "officer": "นายสมชาย ตรวจดี",
        "progress": "ผลิตได้ 200 ชิ้นต่อเดือน",
        "progress_percent": 60,
        "problems": ["ขาดเงินทุนหมุนเวียน"],
        "follow_up_actions": ["แนะนำยื่นขอกู้กองทุน"],
    }
    await assert_idempotent(
        gw,
        visits,
        visit,
        {**visit, "progress_percent": 70},
        headers,
        lambda: _count(gw, visits, headers),
    )
    await assert_lost_response_resent_once(
        live_stack,
        visits,
        {**visit, "visited_on": "2025-05-10"},
        headers,
        lambda: _count(gw, visits, headers),
    )


async def test_course_and_enrollment(
    gw: httpx.AsyncClient, live_stack: Stack, tokens: TokenFactory
) -> None:
    headers = tokens.headers("training:read", "training:write")
    body = course_body()

    async def courses_with_code() -> int:
        found, cursor = 0, None
        while True:
            params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = (await gw.get("/v1/courses", params=params, headers=headers)).json()
            found += sum(1 for c in page["items"] if c["code"] == body["code"])
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    course = await assert_idempotent(
        gw, "/v1/courses", body, {**body, "hours": 13}, headers, courses_with_code
    )
    session = await gw.post(
        "/v1/training-sessions",
        json=session_body(course.json()["id"], capacity=5),
        headers={**headers, **_key()},
    )
    assert session.status_code == 201, session.text
    enrollments = f"/v1/training-sessions/{session.json()['id']}/enrollments"
    registrar = tokens.headers("registry:read", "registry:write")
    workers = []
    for _ in range(3):
        r = await gw.post(
            "/v1/workers", json=worker_body(subdistrict_code=BANGKOK), headers=registrar
        )
        assert r.status_code == 201, r.text
        workers.append(r.json()["id"])
    await assert_idempotent(
        gw,
        enrollments,
        {"worker_id": workers[0]},
        {"worker_id": workers[1]},
        headers,
        lambda: _count(gw, enrollments, headers),
    )
    await assert_lost_response_resent_once(
        live_stack,
        enrollments,
        {"worker_id": workers[2]},
        headers,
        lambda: _count(gw, enrollments, headers),
    )


async def test_fund_and_loan(
    gw: httpx.AsyncClient, live_stack: Stack, tokens: TokenFactory
) -> None:
    auth = Auth(tokens)
    officer = auth.officer()
    registrar = auth.tokens.headers("registry:read", "registry:write")
    national = auth.tokens.headers("loans:read", "loans:write", "loans:approve")
    funds_before = await _count(gw, "/v1/funds", national)
    key = _key()
    body = fund_body()
    fund = await gw.post("/v1/funds", json=body, headers={**officer, **key})
    assert fund.status_code == 201, fund.text
    again = await gw.post("/v1/funds", json=body, headers={**officer, **key})
    assert again.content == fund.content and again.headers["idempotent-replayed"] == "true"
    assert await _count(gw, "/v1/funds", national) == funds_before + 1

    groups = []
    for _ in range(2):
        r = await gw.post(
            "/v1/groups", json=group_body(subdistrict_code=BANGKOK), headers=registrar
        )
        assert r.status_code == 201, r.text
        groups.append(r.json()["id"])

    def loan(group_id: str) -> dict[str, Any]:
        return {
            "fund_id": fund.json()["id"],
            "group_id": group_id,
            "principal_satang": 50_000 * THB,
            "purpose": "Rice mill",
        }

    async def loans_of_fund() -> int:
        r = await gw.get(
            "/v1/loans", params={"fund_id": fund.json()["id"], "limit": 100}, headers=officer
        )
        assert r.status_code == 200, r.text
        return len(r.json()["items"])

    await assert_idempotent(
        gw, "/v1/loans", loan(groups[0]), loan(groups[1]), officer, loans_of_fund
    )
    await assert_lost_response_resent_once(
        live_stack, "/v1/loans", loan(groups[1]), officer, loans_of_fund
    )


def test_people_signed_in_through_one_app_have_keys_of_their_own() -> None:
    from otog_shared.idempotency.http import key_scope

    app = "otog_field_app"
    assert key_scope(app, None) == app
    somchai, somjai = key_scope(app, "worker:1"), key_scope(app, "worker:2")
    # One person's stored answer is never replayed to another who sends the same key.
    assert len({key_scope(app, None), somchai, somjai, key_scope(app, "user:1")}) == 4
