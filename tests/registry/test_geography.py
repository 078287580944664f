"""Public geography reads: DOPA codes, Thai and English names, filters, caching."""

from __future__ import annotations

import httpx

from tests.registry.conftest import CHANG_KLANG_DISTRICT, YAN_SUE, assert_problem


async def _all(client: httpx.AsyncClient, path: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        r = await client.get(path, params=params)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


async def test_full_official_table_is_loaded(registry: httpx.AsyncClient) -> None:
    provinces = await _all(registry, "/v1/provinces")
    assert len(provinces) == 77
    assert provinces[0] == {
        "code": "10",
        "name_th": "กรุงเทพมหานคร",
        "name_en": "Bangkok",
        "region": "central",
        "latitude": 13.7563,
        "longitude": 100.5018,
    }
    districts = await _all(registry, "/v1/districts")
    assert len(districts) == 928
    count = 0
    cursor = None
    while True:
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        r = await registry.get("/v1/subdistricts", params=params)
        count += len(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert count == 7436


async def test_public_without_token_and_cacheable(registry: httpx.AsyncClient) -> None:
    r = await registry.get("/v1/provinces/15")
    assert r.status_code == 200
    assert r.json() == {
        "code": "15",
        "name_th": "อ่างทอง",
        "name_en": "Ang Thong",
        "region": "central",
        "latitude": 14.6128,
        "longitude": 100.3839,
    }
    assert "max-age" in r.headers["cache-control"] and r.headers["etag"]
    again = await registry.get("/v1/provinces/15", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_subdistrict_detail_has_parents_postcode_and_coordinates(
    registry: httpx.AsyncClient,
) -> None:
    r = await registry.get(f"/v1/subdistricts/{YAN_SUE}")
    assert r.status_code == 200
    body = r.json()
    assert body["name_th"] == "ย่านซื่อ" and body["name_en"] == "Yan Sue"
    assert body["district_code"] == "1501" and body["province_code"] == "15"
    assert body["district"]["name_en"] == "Mueang Ang Thong"
    assert body["province"]["name_th"] == "อ่างทอง"
    assert body["postal_codes"] == ["14000"]
    assert body["latitude"] is not None and 13 < body["latitude"] < 16


async def test_filters(registry: httpx.AsyncClient) -> None:
    r = await registry.get("/v1/districts", params={"province": "84"})
    codes = [d["code"] for d in r.json()["items"]]
    assert len(codes) == 19 and all(c.startswith("84") for c in codes)

    r = await registry.get("/v1/subdistricts", params={"district": CHANG_KLANG_DISTRICT})
    assert r.json()["items"] and all(
        s["district_code"] == CHANG_KLANG_DISTRICT for s in r.json()["items"]
    )

    # Names repeat: ย่านซื่อ is the name of more than one subdistrict.
    r = await registry.get("/v1/subdistricts", params={"q": "ย่านซื่อ"})
    assert len(r.json()["items"]) >= 2

    r = await registry.get("/v1/subdistricts", params={"postal_code": "14000", "limit": 200})
    assert YAN_SUE in [s["code"] for s in r.json()["items"]]

    r = await registry.get("/v1/provinces", params={"region": "south"})
    assert len(r.json()["items"]) == 14

    # LIKE wildcards in a search are literal characters.
    r = await registry.get("/v1/provinces", params={"q": "%"})
    assert r.json()["items"] == []


async def test_errors_are_problems(registry: httpx.AsyncClient) -> None:
    assert_problem(await registry.get("/v1/provinces/99"), 404, "not-found")
    assert_problem(await registry.get("/v1/subdistricts/999999"), 404, "not-found")
    assert_problem(await registry.get("/v1/districts/9999"), 404, "not-found")
    body = assert_problem(await registry.get("/v1/provinces/Bangkok"), 422, "validation-error")
    assert body["errors"]
    assert_problem(await registry.get("/v1/districts", params={"province": "1"}), 422)
    assert_problem(await registry.get("/v1/provinces", params={"cursor": "%%%"}), 422)
    assert_problem(await registry.get("/v1/provinces", params={"limit": 500}), 422)
    assert_problem(await registry.get("/v1/subdistricts", params={"q": "a\x00"}), 422)
    assert_problem(await registry.get("/v1/catalog/products", params={"q": "\x01"}), 422)
