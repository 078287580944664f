"""The registry's job: ``certification.expiring`` 30 days before ``expires_on``, once
per certification and expiry date. Runs in the test's rolled-back transaction (the
in-process registry), "now" given by the test."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
from otog_registry.jobs import notify_expiring_certifications
from otog_shared.scheduler import BANGKOK
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.tokens import TokenFactory


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=BANGKOK)


async def expiring_events(db: AsyncSession) -> list[dict[str, Any]]:
    rows = await db.execute(
        text(
            "SELECT subject, province_code, data FROM outbox "
            "WHERE type = 'certification.expiring' ORDER BY data->>'expires_on'"
        )
    )
    return [dict(r._mapping) for r in rows]


async def test_certifications_expiring_are_told_thirty_days_ahead_once(
    registry_session: tuple[httpx.AsyncClient, AsyncSession], tokens: TokenFactory
) -> None:
    registry, db = registry_session
    headers = tokens.headers("registry:read", "registry:write")
    group = await registry.post(
        "/v1/groups",
        json={
            "name_th": f"กลุ่มจักสาน {uuid.uuid4().hex[:6]}",
            "subdistrict_code": "500101",
            "occupation": "textiles_weaving",
        },
        headers=headers,
    )
    assert group.status_code == 201, group.text
    product = await registry.post(
        f"/v1/groups/{group.json()['id']}/products",
        json={"name_th": "ตะกร้าไม้ไผ่"},
        headers=headers,
    )
    assert product.status_code == 201, product.text
    product_id = product.json()["id"]

    today = datetime.now(UTC).astimezone(BANGKOK).date()
    soon, later = today + timedelta(days=45), today + timedelta(days=200)
    certs = {}
    for number, expires_on in (("A-1", soon), ("B-2", later), ("C-3", None)):
        r = await registry.post(
            f"/v1/products/{product_id}/certifications",
            json={
                "standard": "fda",
                "number": number,
                "issued_on": "2024-01-01",
                **({"expires_on": expires_on.isoformat()} if expires_on else {}),
            },
            headers=headers,
        )
        assert r.status_code == 201, r.text
        certs[number] = r.json()["id"]

    # 31 days before: not yet; 30 days before: told; every later run: not again.
    assert await notify_expiring_certifications(db, noon(soon - timedelta(days=31))) == []
    told = await notify_expiring_certifications(db, noon(soon - timedelta(days=30)))
    assert [str(c) for c in told] == [certs["A-1"]]
    assert await notify_expiring_certifications(db, noon(soon - timedelta(days=30))) == []
    assert await notify_expiring_certifications(db, noon(soon - timedelta(days=3))) == []

    events = await expiring_events(db)
    assert len(events) == 1
    event = events[0]
    assert event["subject"] == f"/v1/products/{product_id}/certifications"
    assert event["province_code"] == "50"
    assert event["data"] == {
        "certification_id": certs["A-1"],
        "product_id": product_id,
        "group_id": group.json()["id"],
        "standard": "fda",
        "expires_on": soon.isoformat(),
        "days_left": 30,
    }

    # Renewed (its expiry moved): told again before the new date, once.
    renewed = soon + timedelta(days=365)
    await db.execute(
        text("UPDATE certifications SET expires_on = :d WHERE id = :id"),
        {"d": renewed, "id": uuid.UUID(certs["A-1"])},
    )
    told = await notify_expiring_certifications(db, noon(renewed - timedelta(days=10)))
    # B-2 expired meanwhile without a run in its window: expired is not "expiring".
    assert [str(c) for c in told] == [certs["A-1"]]
    assert await notify_expiring_certifications(db, noon(renewed - timedelta(days=10))) == []
    assert len(await expiring_events(db)) == 2
    told = await notify_expiring_certifications(db, noon(later - timedelta(days=1)))
    assert [str(c) for c in told] == [certs["B-2"]]
