"""Provinces carry a map position: the mean of their subdistricts' coordinates."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def test_every_province_has_a_position(
    registry_session: tuple[httpx.AsyncClient, AsyncSession],
) -> None:
    registry, db = registry_session
    items = []
    cursor = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = (await registry.get("/v1/provinces", params=params)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(items) == 77
    # Thailand lies between about 5.6–20.5° N and 97.3–105.7° E.
    for p in items:
        assert 5.5 < p["latitude"] < 20.5 and 97.3 < p["longitude"] < 105.7, p

    centroid = (
        await db.execute(
            text(
                "SELECT avg(latitude), avg(longitude) FROM geo.subdistricts "
                "WHERE province_code = '15' AND latitude IS NOT NULL"
            )
        )
    ).one()
    ang_thong = (await registry.get("/v1/provinces/15")).json()
    assert abs(ang_thong["latitude"] - centroid[0]) < 1e-3
    assert abs(ang_thong["longitude"] - centroid[1]) < 1e-3
    bangkok = (await registry.get("/v1/provinces/10")).json()
    assert (bangkok["latitude"], bangkok["longitude"]) == (13.7563, 100.5018)
    # Chiang Rai (57) lies north of Bangkok (10), Ubon Ratchathani (34) east of it.
    by_code = {p["code"]: p for p in items}
    assert by_code["57"]["latitude"] > by_code["10"]["latitude"]
    assert by_code["34"]["longitude"] > by_code["10"]["longitude"]
