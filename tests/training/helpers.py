"""Helpers for training tests: valid national IDs, registry workers and groups,
courses and sessions made through the public API."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from otog_devstack.postgres import plain_url

from tests.support.tokens import TokenFactory

Json = dict[str, Any]


def national_id() -> str:
    """A fresh random 13-digit Thai national ID with a valid check digit."""
    first = str(random.randint(1, 8))
    body = first + "".join(str(random.randint(0, 9)) for _ in range(11))
    total = sum(int(d) * w for d, w in zip(body, range(13, 1, -1), strict=True))
    return body + str((11 - total % 11) % 10)


async def create_worker(
    registry: httpx.AsyncClient, tokens: TokenFactory, subdistrict_code: str = "100101"
) -> str:
    r = await registry.post(
        "/v1/workers",
        json={
            "national_id": national_id(),
            "first_name_th": "สมศรี",
            "last_name_th": "ทดสอบ",
            "subdistrict_code": subdistrict_code,
            "birth_date": "1980-05-17",
        },
        headers=tokens.headers("registry:write", "registry:read"),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def create_group(
    registry: httpx.AsyncClient,
    tokens: TokenFactory,
    *,
    stage: str | None = None,
    subdistrict_code: str = "100101",
    members: tuple[str, ...] = (),
) -> str:
    """A group in the real registry with ``members`` (worker ids), then moved to
    ``stage`` when given."""
    headers = tokens.headers("registry:write", "registry:read")
    r = await registry.post(
        "/v1/groups",
        json={
            "name_th": f"กลุ่มทดสอบ {uuid.uuid4().hex[:8]}",
            "subdistrict_code": subdistrict_code,
            "occupation": "textiles_weaving",
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    group_id = str(r.json()["id"])
    for worker_id in members:
        await add_member(registry, tokens, group_id, worker_id)
    if stage:
        s = await registry.post(
            f"/v1/groups/{group_id}/stage-changes", json={"stage": stage}, headers=headers
        )
        assert s.status_code in (200, 201), s.text
    return group_id


async def add_member(
    registry: httpx.AsyncClient, tokens: TokenFactory, group_id: str, worker_id: str
) -> None:
    r = await registry.post(
        f"/v1/groups/{group_id}/members",
        json={"worker_id": worker_id, "role": "member"},
        headers=tokens.headers("registry:write", "registry:read"),
    )
    assert r.status_code == 201, r.text


async def remove_member(
    registry: httpx.AsyncClient, tokens: TokenFactory, group_id: str, worker_id: str
) -> None:
    r = await registry.delete(
        f"/v1/groups/{group_id}/members/{worker_id}",
        headers=tokens.headers("registry:write", "registry:read"),
    )
    assert r.status_code == 204, r.text


def course_body(**overrides: Any) -> Json:
    body: Json = {
        "code": "T" + uuid.uuid4().hex[:8].upper(),
        "title_th": "การสร้างคอนเทนต์ทางการตลาดบนสื่อออนไลน์แบบมือโปร",
        "title_en": "Professional online marketing content creation",
        "provider": "DSD with ETDA",
        "hours": 12,
        "modes": ["onsite", "online"],
        "description": "Test course.",
    }
    body.update(overrides)
    return body


async def create_course(client: httpx.AsyncClient, headers: dict[str, str], **kw: Any) -> Json:
    r = await client.post("/v1/courses", json=course_body(**kw), headers=headers)
    assert r.status_code == 201, r.text
    result: Json = r.json()
    return result


def session_body(course_id: str, **overrides: Any) -> Json:
    today = datetime.now(UTC).date()
    starts = today + timedelta(days=30)
    body: Json = {
        "course_id": course_id,
        "province_code": "10",
        "mode": "onsite",
        "starts_on": starts.isoformat(),
        "ends_on": (starts + timedelta(days=1)).isoformat(),
        "venue": "Bangkok skill development office",
        "capacity": 3,
        "minimum": 2,
    }
    body.update(overrides)
    return body


async def create_session(
    client: httpx.AsyncClient, headers: dict[str, str], course_id: str | None = None, **kw: Any
) -> Json:
    if course_id is None:
        course_id = str((await create_course(client, headers))["id"])
    r = await client.post(
        "/v1/training-sessions", json=session_body(course_id, **kw), headers=headers
    )
    assert r.status_code == 201, r.text
    result: Json = r.json()
    return result


def past(days: int = 1) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def day(offset: int) -> date:
    return datetime.now(UTC).date() + timedelta(days=offset)


async def seat_invariants(db_url: str, session_id: str) -> None:
    """The session's counters equal its rows; positions run 1..n; no seat is over-sold;
    nobody waits while a seat is free."""
    conn = await asyncpg.connect(plain_url(db_url))
    try:
        s = await conn.fetchrow(
            "SELECT capacity, confirmed_count, waitlist_count, status FROM training_sessions "
            "WHERE id = $1",
            uuid.UUID(session_id),
        )
        rows = await conn.fetch(
            "SELECT status, waitlist_position FROM enrollments WHERE session_id = $1",
            uuid.UUID(session_id),
        )
    finally:
        await conn.close()
    assert s is not None
    seated = [r for r in rows if r["status"] in ("confirmed", "completed")]
    waiting = sorted(r["waitlist_position"] for r in rows if r["status"] == "waitlisted")
    assert s["confirmed_count"] == len(seated) <= s["capacity"]
    assert s["waitlist_count"] == len(waiting)
    assert waiting == list(range(1, len(waiting) + 1))
    if waiting:
        assert len(seated) == s["capacity"]


async def seat_invariants_in(db: Any, session_id: str) -> dict[str, Any]:
    """Same checks as :func:`seat_invariants`, inside a test's own transaction."""
    from sqlalchemy import text

    s = (
        await db.execute(
            text(
                "SELECT capacity, confirmed_count, waitlist_count FROM training_sessions "
                "WHERE id = :id"
            ),
            {"id": uuid.UUID(session_id)},
        )
    ).one()
    rows = (
        await db.execute(
            text("SELECT status, waitlist_position FROM enrollments WHERE session_id = :id"),
            {"id": uuid.UUID(session_id)},
        )
    ).all()
    seated = [r for r in rows if r.status in ("confirmed", "completed")]
    waiting = sorted(r.waitlist_position for r in rows if r.status == "waitlisted")
    assert s.confirmed_count == len(seated) <= s.capacity
    assert s.waitlist_count == len(waiting)
    assert waiting == list(range(1, len(waiting) + 1))
    if waiting:
        assert len(seated) == s.capacity
    return {"confirmed": len(seated), "waitlisted": len(waiting)}
