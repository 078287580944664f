"""Public catalogue, dashboard figures, audit trail."""

from __future__ import annotations

import httpx
from otog_shared.pagination import encode_cursor

from tests.registry.conftest import KO_TAN, assert_problem, create_group, create_worker
from tests.support.tokens import TokenFactory


async def _product(
    client: httpx.AsyncClient, headers: dict[str, str], group_id: str, **body: object
) -> dict[str, object]:
    r = await client.post(
        f"/v1/groups/{group_id}/products", json={"name_th": "สินค้า", **body}, headers=headers
    )
    assert r.status_code == 201, r.text
    out: dict[str, object] = r.json()
    return out


async def test_catalog_is_public_filtered_and_cacheable(
    registry: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    wreaths = await create_group(
        registry, writer, contact_name="สมศรี ใจดี", contact_phone="0812345678"
    )
    pork = await create_group(
        registry, writer, subdistrict_code=KO_TAN, occupation="food_processing", name_th="หมูแดดเดียว"
    )
    stopped = await create_group(registry, writer, name_th="กลุ่มที่ยุติ")
    wreath = await _product(
        registry, writer, wreaths["id"], name_th="พวงหรีด", price_satang=150000, is_premium=True
    )
    await _product(registry, writer, wreaths["id"], name_th="ไม่ขายแล้ว", is_available=False)
    dried = await _product(registry, writer, pork["id"], name_th="หมูแดดเดียว", price_satang=12000)
    gone = await _product(registry, writer, stopped["id"], name_th="ไม่แสดง")
    await registry.post(
        f"/v1/products/{wreath['id']}/certifications",
        json={"standard": "tcps", "number": "มผช. 1/2566", "issued_on": "2023-01-01"},
        headers=writer,
    )
    await registry.post(
        f"/v1/groups/{stopped['id']}/stage-changes", json={"stage": "dissolved"}, headers=writer
    )

    r = await registry.get("/v1/catalog/products", params={"limit": 200})
    assert r.status_code == 200
    assert "public" in r.headers["cache-control"] and r.headers["etag"]
    items = {p["id"]: p for p in r.json()["items"]}
    assert wreath["id"] in items and dried["id"] in items and gone["id"] not in items
    assert len([p for p in items.values() if p["group"]["id"] == wreaths["id"]]) == 1
    shown = items[wreath["id"]]
    assert shown["group"] == {
        "id": wreaths["id"],
        "name_th": wreaths["name_th"],
        "name_en": wreaths["name_en"],
        "occupation": "flowers_wreaths",
    }
    assert shown["place"]["subdistrict_name_th"] == "ย่านซื่อ"
    assert shown["place"]["province_name_en"] == "Ang Thong"
    assert shown["certifications"][0]["standard"] == "tcps"
    assert "สมศรี" not in r.text and "0812345678" not in r.text

    again = await registry.get(
        "/v1/catalog/products", params={"limit": 200}, headers={"If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304

    async def ids(**params: str) -> set[str]:
        got = await registry.get("/v1/catalog/products", params={"limit": "200", **params})
        assert got.status_code == 200, got.text
        return {p["id"] for p in got.json()["items"]}

    assert dried["id"] in await ids(province="62")
    assert wreath["id"] not in await ids(province="62")
    assert await ids(occupation="food_processing") >= {dried["id"]}
    assert wreath["id"] not in await ids(occupation="food_processing")
    assert wreath["id"] in await ids(premium="true")
    assert dried["id"] not in await ids(premium="true")
    assert wreath["id"] in await ids(q="หรีด")
    assert_problem(await registry.get("/v1/catalog/products", params={"province": "x"}), 422)
    assert_problem(await registry.get("/v1/catalog/products", params={"occupation": "x"}), 422)


async def test_stats_by_stage_province_and_fiscal_year(
    registry: httpx.AsyncClient, writer: dict[str, str], tokens: TokenFactory
) -> None:
    a = await create_group(registry, writer)
    b = await create_group(registry, writer, name_th="กลุ่มบี")
    c = await create_group(registry, writer, subdistrict_code=KO_TAN)
    for group, stages in ((a, ["prototype", "training"]), (c, ["prototype"])):
        for stage in stages:
            r = await registry.post(
                f"/v1/groups/{group['id']}/stage-changes",
                json={"stage": stage, "fiscal_year": 2568},
                headers=writer,
            )
            assert r.status_code == 201, r.text
    await registry.post(
        f"/v1/groups/{b['id']}/stage-changes", json={"stage": "suspended"}, headers=writer
    )

    r = await registry.get(
        "/v1/stats/groups-by-stage", params={"fiscal_year": 2568}, headers=writer
    )
    assert r.status_code == 200
    stats = r.json()
    counts = {(x["province_code"], x["stage"]): x["groups"] for x in stats["rows"]}
    assert counts[("15", "prototype")] >= 1 and counts[("15", "training")] >= 1
    assert counts[("62", "prototype")] >= 1
    totals = {t["stage"]: t["groups"] for t in stats["totals"]}
    assert totals["prototype"] == sum(v for (_, s), v in counts.items() if s == "prototype")

    now = (
        await registry.get("/v1/stats/groups-by-status", params={"province": "15"}, headers=writer)
    ).json()
    current = {x["stage"]: x["groups"] for x in now["rows"]}
    assert current["training"] >= 1 and current["suspended"] >= 1
    assert {x["province_code"] for x in now["rows"]} == {"15"}
    assert now["rows"][0]["province_name_th"] == "อ่างทอง"

    # A province-bound client gets its own province only.
    bound = tokens.headers("registry:read", province="62")
    mine = (
        await registry.get("/v1/stats/groups-by-stage", params={"fiscal_year": 2568}, headers=bound)
    ).json()
    assert {x["province_code"] for x in mine["rows"]} == {"62"}
    other = await registry.get(
        "/v1/stats/groups-by-status", params={"province": "15"}, headers=bound
    )
    assert other.json()["rows"] == []

    sales = await registry.get(
        "/v1/stats/market-sales", params={"fiscal_year": 2568}, headers=writer
    )
    assert sales.status_code == 200 and "sales_satang" in sales.json()
    assert_problem(await registry.get("/v1/stats/groups-by-stage"), 401)
    assert_problem(
        await registry.get("/v1/stats/groups-by-stage", params={"fiscal_year": 68}, headers=writer),
        422,
    )


async def test_audit_events(
    registry: httpx.AsyncClient, writer: dict[str, str], admin: dict[str, str]
) -> None:
    worker = await create_worker(registry, writer)
    group = await create_group(registry, {**writer, "X-Request-ID": "audit-req-1"})
    await registry.post(
        f"/v1/groups/{group['id']}/members", json={"worker_id": worker["id"]}, headers=writer
    )
    r = await registry.get("/v1/audit-events", params={"entity_id": group["id"]}, headers=admin)
    assert r.status_code == 200
    events = r.json()["items"]
    assert [e["action"] for e in events] == ["group.created", "group.member_added"]
    assert events[0]["actor"] == "labour-office" and events[0]["request_id"] == "audit-req-1"
    assert events[0]["changes"]["name_th"] == group["name_th"]
    by_request = await registry.get(
        "/v1/audit-events", params={"request_id": "audit-req-1"}, headers=admin
    )
    assert [e["entity_id"] for e in by_request.json()["items"]] == [group["id"]]
    assert_problem(await registry.get("/v1/audit-events", headers=writer), 403)
    assert_problem(
        await registry.get("/v1/audit-events", params={"cursor": "WyJ4Il0"}, headers=admin), 422
    )
    huge = encode_cursor([10**30])
    assert_problem(
        await registry.get("/v1/audit-events", params={"cursor": huge}, headers=admin), 422
    )


async def test_client_creation_is_audited(
    registry: httpx.AsyncClient, admin: dict[str, str], tokens: TokenFactory
) -> None:
    r = await registry.post(
        "/v1/clients",
        json={"name": "Tourism partner", "scopes": ["registry:read"], "province": "15"},
        headers={**admin, "X-Request-ID": "client-audit-1"},
    )
    assert r.status_code == 201
    events = (
        await registry.get(
            "/v1/audit-events", params={"request_id": "client-audit-1"}, headers=admin
        )
    ).json()["items"]
    assert [e["action"] for e in events] == ["client.created"]
    assert events[0]["changes"]["client_id"] == r.json()["client_id"]
    assert r.json()["client_secret"] not in str(events[0])
    # An admin bound to another province does not see that province's events.
    other = tokens.headers("admin", province="50")
    hidden = await registry.get(
        "/v1/audit-events", params={"request_id": "client-audit-1"}, headers=other
    )
    assert hidden.json()["items"] == []
