"""Field visits; market links with market:write, idempotent retries and a summary."""

from __future__ import annotations

from datetime import timedelta

import httpx
from otog_registry.fiscal import today_in_bangkok

from tests.registry.conftest import assert_problem, create_group
from tests.support.tokens import TokenFactory


async def test_field_visits(
    registry: httpx.AsyncClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    group = await create_group(registry, writer)
    url = f"/v1/groups/{group['id']}/visits"
    body = {
        "visited_on": "2025-04-10",
        "officer": "นายสมชาย ตรวจดี",
        "progress": "ผลิตได้ 200 ชิ้นต่อเดือน",
        "progress_percent": 60,
        "problems": ["ขาดเงินทุนหมุนเวียน", "วัตถุดิบราคาสูง"],
        "follow_up_actions": ["แนะนำยื่นขอกู้กองทุน"],
        "next_visit_on": "2025-06-10",
    }
    r = await registry.post(url, json=body, headers=writer)
    assert r.status_code == 201, r.text
    visit = r.json()
    assert visit["problems"] == body["problems"] and visit["recorded_by"] == "labour-office"
    got = await registry.get(f"{url}/{visit['id']}", headers=reader)
    assert got.json() == visit and got.headers["etag"]
    assert [v["id"] for v in (await registry.get(url, headers=reader)).json()["items"]] == [
        visit["id"]
    ]
    future = str(today_in_bangkok() + timedelta(days=2))
    for bad in (
        {**body, "visited_on": future},
        {**body, "progress_percent": 101},
        {**body, "progress": ""},
        {**body, "problems": "not a list"},
        {**body, "visited_on": 20250410},
        {**body, "next_visit_on": 0},
        {**body, "progress_percent": "60"},
        {k: v for k, v in body.items() if k != "visited_on"},
    ):
        assert_problem(await registry.post(url, json=bad, headers=writer), 422)
    assert_problem(await registry.post(url, json=body, headers=reader), 403)
    assert_problem(
        await registry.get(f"{url}/01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b", headers=reader), 404
    )


async def test_market_links_and_summary(
    registry: httpx.AsyncClient,
    writer: dict[str, str],
    reader: dict[str, str],
    tokens: TokenFactory,
) -> None:
    group = await create_group(registry, writer)
    other = await create_group(registry, writer)
    commerce = tokens.headers("market:write", "registry:read", client_id="commerce")
    url = f"/v1/groups/{group['id']}/market-links"
    product = (
        await registry.post(
            f"/v1/groups/{group['id']}/products", json={"name_th": "พวงหรีด"}, headers=writer
        )
    ).json()

    fair = {
        "partner": "commerce",
        "channel": "trade_fair",
        "event": "OTOP City 2025",
        "occurred_on": "2025-03-15",
        "sales_satang": 4_520_000,
        "product_id": product["id"],
    }
    r = await registry.post(url, json=fair, headers={**commerce, "Idempotency-Key": "fair-1"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["recorded_by"] == "commerce" and first["sales_satang"] == 4_520_000

    # A retry with the same key returns the first record and records nothing more.
    again = await registry.post(url, json=fair, headers={**commerce, "Idempotency-Key": "fair-1"})
    assert again.status_code == 201 and again.json() == first
    changed = {**fair, "sales_satang": 1}
    r = await registry.post(url, json=changed, headers={**commerce, "Idempotency-Key": "fair-1"})
    assert_problem(r, 422, "idempotency-key-reused")

    for link in (
        {
            "partner": "commerce",
            "channel": "ecommerce",
            "occurred_on": "2025-05-01",
            "sales_satang": 1_500_000,
        },
        {
            "partner": "tourism",
            "channel": "tourist_market",
            "occurred_on": "2024-10-01",
            "sales_satang": 300_000,
        },
        {"partner": "interior", "channel": "otop_shop", "occurred_on": "2024-09-30"},
    ):
        assert (await registry.post(url, json=link, headers=commerce)).status_code == 201

    items = (await registry.get(url, headers=reader)).json()["items"]
    assert len(items) == 4

    summary = (await registry.get(f"{url}/summary", headers=reader)).json()
    assert summary["links"] == 4 and summary["sales_satang"] == 6_320_000
    assert summary["first_on"] == "2024-09-30" and summary["last_on"] == "2025-05-01"
    assert {p["partner"]: (p["links"], p["sales_satang"]) for p in summary["by_partner"]} == {
        "commerce": (2, 6_020_000),
        "tourism": (1, 300_000),
        "interior": (1, 0),
    }
    fy = (await registry.get(f"{url}/summary", params={"fiscal_year": 2568}, headers=reader)).json()
    assert fy["links"] == 3 and fy["sales_satang"] == 6_320_000

    # Rules: market:write needed, the product must be the group's, money is whole satang.
    assert_problem(await registry.post(url, json=fair, headers=writer), 403)
    r = await registry.post(f"/v1/groups/{other['id']}/market-links", json=fair, headers=commerce)
    body = assert_problem(r, 422)
    assert body["errors"][0]["field"] == "body.product_id"
    for bad in (
        {**fair, "partner": "defence"},
        {**fair, "sales_satang": 10.5},
        {**fair, "sales_satang": -1},
        {**fair, "sales_satang": "100"},
        {**fair, "occurred_on": "15/03/2025"},
    ):
        assert_problem(await registry.post(url, json=bad, headers=commerce), 422)
