"""GET /v1/stats/programme: the fiscal year's targets beside counts of the groups."""

from __future__ import annotations

from typing import Any

import httpx
from otog_registry.fiscal import current_fiscal_year

from tests.registry.conftest import KO_TAN, YAN_SUE, assert_problem, create_group
from tests.support.tokens import TokenFactory

FY = 2568
# Other subdistricts of Ang Thong (15) for more than one prototype there in a year.
ANG_THONG_OTHER = "150101"


async def _move(
    client: httpx.AsyncClient, headers: dict[str, str], group: dict[str, Any], *stages: str
) -> None:
    for stage in stages:
        r = await client.post(
            f"/v1/groups/{group['id']}/stage-changes",
            json={"stage": stage, "fiscal_year": FY},
            headers=headers,
        )
        assert r.status_code == 201, r.text


def _by_stage(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {r["stage"]: r["groups"] for r in rows}


async def test_targets_beside_actuals(registry: httpx.AsyncClient, tokens: TokenFactory) -> None:
    writer = tokens.headers("registry:read", "registry:write", client_id="labour-office")
    before = (
        await registry.get("/v1/stats/programme", params={"fiscal_year": FY}, headers=writer)
    ).json()

    a = await create_group(registry, writer)
    b = await create_group(registry, writer, subdistrict_code=ANG_THONG_OTHER)
    c = await create_group(registry, writer, subdistrict_code=KO_TAN)
    await create_group(registry, writer, name_th="กลุ่มใหม่")
    await _move(registry, writer, a, "prototype", "training", "product_development")
    await _move(registry, writer, b, "prototype", "training")
    await _move(registry, writer, c, "prototype")

    r = await registry.get("/v1/stats/programme", params={"fiscal_year": FY}, headers=writer)
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["fiscal_year"] == FY and stats["province"] is None
    assert stats["targets"] == {
        "prototype_groups": 401,
        "full_cycle_groups": 77,
        "finish_by": "2025-03-31",
        "finish_by_groups": 324,
        "source": "Ministry of Labour announcement of the programme, FY2568",
    }
    actual, was = stats["actuals"], before["actuals"]
    assert actual["prototype_groups"] - was["prototype_groups"] == 3
    assert actual["full_cycle_groups"] - was["full_cycle_groups"] == 2
    # Moved on from training today, long after 31 March 2025: not counted as on time.
    assert actual["finish_by_groups"] == was["finish_by_groups"]
    assert actual["finish_by"] == "2025-03-31"

    now, then = _by_stage(stats["current_stages"]), _by_stage(before["current_stages"])
    assert len(now) == 8
    assert now["registered"] - then["registered"] == 1
    assert now["prototype"] - then["prototype"] == 1
    assert now["training"] - then["training"] == 1
    assert now["product_development"] - then["product_development"] == 1
    reached, was_reached = _by_stage(stats["reached_stages"]), _by_stage(before["reached_stages"])
    assert reached["prototype"] - was_reached["prototype"] == 3
    assert reached["training"] - was_reached["training"] == 2
    assert reached["product_development"] - was_reached["product_development"] == 1

    # The per-province figures add up to the national ones.
    provinces = {p["province_code"]: p for p in stats["provinces"]}
    assert sum(p["prototype_groups"] for p in provinces.values()) == actual["prototype_groups"]
    assert sum(p["groups"] for p in provinces.values()) == sum(now.values())
    assert provinces["15"]["province_name_en"] == "Ang Thong"
    old = {p["province_code"]: p for p in before["provinces"]}
    assert provinces["15"]["prototype_groups"] - old.get("15", {}).get("prototype_groups", 0) == 2
    assert provinces["62"]["full_cycle_groups"] == old.get("62", {}).get("full_cycle_groups", 0)

    # A fiscal year without targets still counts, against 31 March of that year.
    other = (
        await registry.get("/v1/stats/programme", params={"fiscal_year": 2590}, headers=writer)
    ).json()
    assert other["targets"] is None
    assert other["actuals"]["finish_by"] == "2047-03-31"
    assert other["actuals"]["prototype_groups"] == 0

    default = await registry.get("/v1/stats/programme", headers=writer)
    assert default.json()["fiscal_year"] == current_fiscal_year()


async def test_province_bound_callers_see_their_province(
    registry: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    writer = tokens.headers("registry:read", "registry:write")
    a = await create_group(registry, writer, subdistrict_code=YAN_SUE)
    c = await create_group(registry, writer, subdistrict_code=KO_TAN)
    await _move(registry, writer, a, "prototype")
    await _move(registry, writer, c, "prototype")

    national = (
        await registry.get("/v1/stats/programme", params={"fiscal_year": FY}, headers=writer)
    ).json()
    kamphaeng_phet = tokens.headers("registry:read", province="62")
    mine = (
        await registry.get(
            "/v1/stats/programme", params={"fiscal_year": FY}, headers=kamphaeng_phet
        )
    ).json()
    assert mine["province"] == "62"
    assert [p["province_code"] for p in mine["provinces"]] == ["62"]
    by_code = {p["province_code"]: p for p in national["provinces"]}
    assert mine["actuals"]["prototype_groups"] == by_code["62"]["prototype_groups"] >= 1
    assert sum(_by_stage(mine["current_stages"]).values()) == by_code["62"]["groups"]
    assert mine["targets"]["prototype_groups"] == 401  # the targets stay national

    other = (
        await registry.get(
            "/v1/stats/programme",
            params={"fiscal_year": FY, "province": "15"},
            headers=kamphaeng_phet,
        )
    ).json()
    assert other["provinces"] == [] and other["actuals"]["prototype_groups"] == 0
    assert sum(_by_stage(other["current_stages"]).values()) == 0

    filtered = (
        await registry.get(
            "/v1/stats/programme", params={"fiscal_year": FY, "province": "15"}, headers=writer
        )
    ).json()
    assert [p["province_code"] for p in filtered["provinces"]] == ["15"]


async def test_scope_and_input(registry: httpx.AsyncClient, tokens: TokenFactory) -> None:
    assert_problem(await registry.get("/v1/stats/programme"), 401)
    assert_problem(
        await registry.get("/v1/stats/programme", headers=tokens.headers("training:read")), 403
    )
    reader = tokens.headers("registry:read")
    assert_problem(
        await registry.get("/v1/stats/programme", params={"fiscal_year": 68}, headers=reader),
        422,
    )
    assert_problem(
        await registry.get("/v1/stats/programme", params={"province": "1"}, headers=reader), 422
    )
