"""A device's delta sync through the gateway and the real services: it syncs every
collection from empty, goes offline while others add, change and remove, syncs again,
and its copy is then exactly the server's state for its province."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from otog_shared.sync.service import compact_sync_log
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from tests.conftest import Stack
from tests.loans.conftest import THB, fund_body
from tests.support.stack import Databases
from tests.support.tokens import TokenFactory
from tests.training.helpers import course_body, national_id, session_body

pytestmark = pytest.mark.e2e

Json = dict[str, Any]
COLLECTIONS = (
    "workers",
    "groups",
    "members",
    "products",
    "visits",
    "market-links",
    "sessions",
    "enrollments",
    "loans",
)
ANG_THONG = "150101"  # province 15, the device's
KAMPHAENG_PHET = "620101"  # province 62, never on the device
PROBLEM = "application/problem+json"


class Device:
    """An app's local copy: items applied, tombstones removing, one cursor per collection."""

    def __init__(self, gw: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.gw = gw
        self.headers = headers
        self.cursors: dict[str, str] = {}
        self.copy: dict[str, dict[str, Json]] = {c: {} for c in COLLECTIONS}
        self.received: list[Json] = []

    async def sync(self) -> None:
        for collection in COLLECTIONS:
            cursor = self.cursors.get(collection)
            while True:
                params: dict[str, Any] = {"limit": 7}
                if cursor is not None:
                    params["cursor"] = cursor
                r = await self.gw.get(f"/v1/sync/{collection}", params=params, headers=self.headers)
                assert r.status_code == 200, r.text
                page = r.json()
                for item in page["items"]:
                    self.received.append(item)
                    if item["deleted"]:
                        assert item["data"] is None
                        self.copy[collection].pop(item["id"], None)
                    else:
                        self.copy[collection][item["id"]] = item["data"]
                cursor = page["next_cursor"]
                if page["complete"]:
                    break
            self.cursors[collection] = cursor


class Actor:
    """Another officer (national) changing the server while the device is offline."""

    def __init__(self, gw: httpx.AsyncClient, tokens: TokenFactory) -> None:
        self.gw = gw
        self.h = tokens.headers(
            "registry:read",
            "registry:write",
            "market:write",
            "training:read",
            "training:write",
            "loans:read",
            "loans:write",
            "loans:approve",
        )

    async def post(self, path: str, body: Json | None = None, status: int = 201) -> Json:
        r = await self.gw.post(path, json=body, headers=self.h)
        assert r.status_code == status, r.text
        result: Json = r.json()
        return result

    async def patch(self, path: str, body: Json) -> Json:
        etag = (await self.gw.get(path, headers=self.h)).headers["etag"]
        r = await self.gw.patch(path, json=body, headers={**self.h, "If-Match": etag})
        assert r.status_code == 200, r.text
        result: Json = r.json()
        return result

    async def worker(self, subdistrict: str = ANG_THONG) -> Json:
        return await self.post(
            "/v1/workers",
            {
                "national_id": national_id(),
                "first_name_th": "สมศรี",
                "last_name_th": "ใจดี",
                "birth_date": "1984-04-12",
                "subdistrict_code": subdistrict,
            },
        )

    async def group(self, subdistrict: str = ANG_THONG) -> Json:
        return await self.post(
            "/v1/groups",
            {
                "name_th": f"กลุ่มทอผ้า {uuid.uuid4().hex[:6]}",
                "subdistrict_code": subdistrict,
                "occupation": "textiles_weaving",
            },
        )

    async def member(self, group: Json, worker: Json) -> Json:
        return await self.post(
            f"/v1/groups/{group['id']}/members", {"worker_id": worker["id"], "role": "member"}
        )

    async def product(self, group: Json) -> Json:
        return await self.post(
            f"/v1/groups/{group['id']}/products",
            {"name_th": "ผ้าซิ่นตีนจก", "price_satang": 150_000},
        )

    async def visit(self, group: Json) -> Json:
        return await self.post(
            f"/v1/groups/{group['id']}/visits",
            {"visited_on": "2025-03-01", "progress": "ผลิตได้ตามแผน", "problems": ["ขาดเงินทุน"]},
        )

    async def market_link(self, group: Json) -> Json:
        return await self.post(
            f"/v1/groups/{group['id']}/market-links",
            {"partner": "commerce", "channel": "OTOP fair", "occurred_on": "2025-03-02"},
        )

    async def session(self, course: Json, province: str) -> Json:
        return await self.post(
            "/v1/training-sessions", session_body(course["id"], province_code=province)
        )

    async def enroll(self, session: Json, worker: Json) -> Json:
        return await self.post(
            f"/v1/training-sessions/{session['id']}/enrollments", {"worker_id": worker["id"]}
        )

    async def loan(self, fund: Json, group: Json) -> Json:
        return await self.post(
            "/v1/loans",
            {
                "fund_id": fund["id"],
                "group_id": group["id"],
                "principal_satang": 100_000 * THB,
                "purpose": "Looms",
            },
        )


async def _all(gw: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[Json]:
    items: list[Json] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        r = await gw.get(path, params=params, headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return items


async def server_state(
    gw: httpx.AsyncClient, headers: dict[str, str]
) -> dict[str, dict[str, Json]]:
    """What the lists show the same caller, by collection and id."""
    groups = await _all(gw, "/v1/groups", headers)
    state: dict[str, dict[str, Json]] = {
        "workers": {w["id"]: w for w in await _all(gw, "/v1/workers", headers)},
        "groups": {g["id"]: g for g in groups},
        "members": {},
        "products": {},
        "visits": {},
        "market-links": {},
        "sessions": {s["id"]: s for s in await _all(gw, "/v1/training-sessions", headers)},
        "enrollments": {
            e["id"]: e
            for e in await _all(gw, "/v1/enrollments", headers)
            if e["status"] != "cancelled"
        },
        "loans": {loan["id"]: loan for loan in await _all(gw, "/v1/loans", headers)},
    }
    for g in groups:
        for collection, path in (
            ("members", "members"),
            ("products", "products"),
            ("visits", "visits"),
            ("market-links", "market-links"),
        ):
            for item in await _all(gw, f"/v1/groups/{g['id']}/{path}", headers):
                state[collection][item["id"]] = item
    return state


async def test_a_device_that_syncs_again_has_exactly_the_servers_state(
    live_stack: Stack, tokens: TokenFactory
) -> None:
    device_headers = tokens.headers(
        "registry:read", "training:read", "loans:read", province="15", client_id="field-app"
    )
    async with httpx.AsyncClient(base_url=live_stack.gateway_url, timeout=30) as gw:
        actor = Actor(gw, tokens)
        # Before the first sync: a group with two members, a product, a visit, a market
        # link, a session with two enrolments, a loan; and the same kind in province 62.
        workers = [await actor.worker() for _ in range(4)]
        group = await actor.group()
        leaving = await actor.member(group, workers[0])
        await actor.member(group, workers[1])
        product = await actor.product(group)
        untouched = [workers[3], await actor.visit(group), await actor.market_link(group)]
        course = await actor.post("/v1/courses", course_body())
        session = await actor.session(course, "15")
        cancelled = await actor.enroll(session, workers[0])
        await actor.enroll(session, workers[1])
        fund = await actor.post("/v1/funds", fund_body())
        loan = await actor.loan(fund, group)
        elsewhere = [await actor.worker(KAMPHAENG_PHET), await actor.group(KAMPHAENG_PHET)]
        await actor.session(course, "62")

        device = Device(gw, device_headers)
        await device.sync()
        assert device.copy == await server_state(gw, device_headers)
        assert group["id"] in device.copy["groups"] and loan["id"] in device.copy["loans"]
        assert not any(item["deleted"] for item in device.received)  # a first sync

        # Offline: others add, change and remove.
        moved = workers[2]
        await actor.patch(f"/v1/workers/{moved['id']}", {"subdistrict_code": KAMPHAENG_PHET})
        await actor.patch(f"/v1/workers/{workers[1]['id']}", {"first_name_th": "สมหญิง"})
        newcomer = await actor.worker()
        await actor.patch(f"/v1/groups/{group['id']}", {"name_en": "Weavers"})
        second_group = await actor.group()
        r = await gw.delete(f"/v1/groups/{group['id']}/members/{workers[0]['id']}", headers=actor.h)
        assert r.status_code == 204
        await actor.member(second_group, newcomer)
        await actor.patch(f"/v1/products/{product['id']}", {"price_satang": 175_000})
        await actor.post(
            f"/v1/products/{product['id']}/certifications",
            {
                "standard": "tcps",
                "number": f"มผช.{uuid.uuid4().hex[:6]}",
                "issued_on": "2025-01-10",
            },
        )
        await actor.product(second_group)
        await actor.visit(second_group)
        await actor.market_link(second_group)
        await actor.patch(f"/v1/training-sessions/{session['id']}", {"capacity": 5})
        await actor.post(f"/v1/enrollments/{cancelled['id']}/cancel", status=200)
        await actor.enroll(session, newcomer)
        await actor.session(course, "15")
        await actor.post(f"/v1/loans/{loan['id']}/approve", status=200)
        await actor.loan(fund, second_group)
        elsewhere += [await actor.worker(KAMPHAENG_PHET), await actor.group(KAMPHAENG_PHET)]

        before = len(device.received)
        await device.sync()
        assert device.copy == await server_state(gw, device_headers)
        changes = device.received[before:]
        tombstones = {item["id"] for item in changes if item["deleted"]}
        assert {moved["id"], leaving["id"], cancelled["id"]} <= tombstones
        renamed = [m for m in device.copy["members"].values() if m["worker_id"] == workers[1]["id"]]
        assert [m["worker"]["first_name_th"] for m in renamed] == ["สมหญิง"]
        # Only what changed came again, not the whole province.
        assert not {item["id"] for item in changes} & {u["id"] for u in untouched}

        # Province 15 never received province 62.
        received_ids = {item["id"] for item in device.received}
        assert not received_ids & {e["id"] for e in elsewhere}
        for item in device.received:
            if item["data"] and "province_code" in item["data"]:
                assert item["data"]["province_code"] == "15"

        # Up to date: another sync brings nothing.
        before = len(device.received)
        await device.sync()
        assert len(device.received) == before

        # A national caller may sync one province: 62's group is there.
        national = tokens.headers("registry:read")
        r = await gw.get("/v1/sync/groups", params={"province": "62"}, headers=national)
        assert r.status_code == 200
        page = r.json()
        ids = {i["id"] for i in page["items"]}
        while not page["complete"]:
            r = await gw.get(
                "/v1/sync/groups", params={"cursor": page["next_cursor"]}, headers=national
            )
            page = r.json()
            ids |= {i["id"] for i in page["items"]}
        assert elsewhere[1]["id"] in ids and group["id"] not in ids


async def test_bad_cursors_and_other_provinces_are_refused(
    live_stack: Stack, tokens: TokenFactory
) -> None:
    headers = tokens.headers("registry:read", province="15")
    async with httpx.AsyncClient(base_url=live_stack.gateway_url, timeout=30) as gw:
        # Not base64 JSON, an empty list, a negative position.
        for cursor in ("not-a-cursor", "W10", "WyJzeW5jIiwxLCJncm91cHMiLCIxNSIsLTEsLTFd"):
            r = await gw.get("/v1/sync/groups", params={"cursor": cursor}, headers=headers)
            assert r.status_code == 422, r.text
            assert r.headers["content-type"].startswith(PROBLEM)
            assert r.json()["errors"][0]["field"] == "query.cursor"
        # A cursor of another collection.
        r = await gw.get("/v1/sync/workers", params={"limit": 1000}, headers=headers)
        while not r.json()["complete"]:
            r = await gw.get(
                "/v1/sync/workers",
                params={"limit": 1000, "cursor": r.json()["next_cursor"]},
                headers=headers,
            )
        cursor = r.json()["next_cursor"]
        r = await gw.get("/v1/sync/groups", params={"cursor": cursor}, headers=headers)
        assert r.status_code == 422
        r = await gw.get("/v1/sync/groups", params={"province": "62"}, headers=headers)
        assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)
        r = await gw.get("/v1/sync/loans", headers=headers)
        assert r.status_code == 403  # no loans:read
        r = await gw.get("/v1/sync/nothing", headers=headers)
        assert r.status_code == 404


async def test_a_cursor_older_than_the_kept_tombstones_is_410(
    live_stack: Stack, tokens: TokenFactory, databases: Databases
) -> None:
    headers = tokens.headers("registry:read", province="15", client_id="field-app")
    writer = tokens.headers("registry:read", "registry:write")
    async with httpx.AsyncClient(base_url=live_stack.gateway_url, timeout=30) as gw:
        worker = Actor(gw, tokens)
        moving = await worker.worker()
        page: Json = {"complete": False}
        params: dict[str, Any] = {"limit": 1000}
        while not page["complete"]:
            page = (await gw.get("/v1/sync/workers", params=params, headers=headers)).json()
            params["cursor"] = page["next_cursor"]
        old_cursor = page["next_cursor"]
        path = f"/v1/workers/{moving['id']}"
        etag = (await gw.get(path, headers=writer)).headers["etag"]
        r = await gw.patch(
            path, json={"subdistrict_code": KAMPHAENG_PHET}, headers={**writer, "If-Match": etag}
        )
        assert r.status_code == 200
        # The compaction job, run as if 31 days had passed: the tombstone goes.
        engine = create_async_engine(databases.live_urls["registry"])
        try:
            async with AsyncSession(engine) as session:
                done = await compact_sync_log(session, datetime.now(UTC) + timedelta(days=31))
                await session.commit()
        finally:
            await engine.dispose()
        assert done["tombstones"] >= 1
        r = await gw.get("/v1/sync/workers", params={"cursor": old_cursor}, headers=headers)
        assert r.status_code == 410, r.text
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["type"] == "/problems/resync-required"
        r = await gw.get(
            "/v1/sync/workers",
            params={"cursor": old_cursor},
            headers={**headers, "Accept-Language": "th"},
        )
        assert r.json()["title"] == "ต้องดึงข้อมูลใหม่ทั้งหมด"
        # Starting again works, page after page though the pages' positions are below
        # the horizon, and the new cursor is good.
        r = await gw.get("/v1/sync/workers", params={"limit": 2}, headers=headers)
        assert r.status_code == 200
        while not r.json()["complete"]:
            r = await gw.get(
                "/v1/sync/workers",
                params={"limit": 2, "cursor": r.json()["next_cursor"]},
                headers=headers,
            )
            assert r.status_code == 200, r.text
        assert moving["id"] not in {i["id"] for i in r.json()["items"]}
        r = await gw.get(
            "/v1/sync/workers", params={"cursor": r.json()["next_cursor"]}, headers=headers
        )
        assert r.status_code == 200 and r.json()["complete"]
