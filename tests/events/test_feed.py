"""GET /v1/events on the in-process registry: filters by scope and province,
cursors (also on empty pages), retention and 410."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from otog_registry.events.repository import EventLogRepository
from otog_registry.events.service import encode_feed_cursor, purge_events_older_than
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.tokens import TokenFactory

EVENTS = [
    ("registry", "group.created", "10"),
    ("training", "session.created", "10"),
    ("loan-ledger", "loan.approved", "50"),
    ("loan-ledger", "fund.budget_low", None),
]


async def _log(session: AsyncSession) -> list[tuple[str, int]]:
    """The four events above in the feed (positions given at once, not at the commit
    a rolled-back test never reaches); their ids and positions."""
    await session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    await session.execute(text("DELETE FROM event_log"))
    await session.execute(text("DELETE FROM event_sources"))
    out = []
    for n, (source, event_type, province) in enumerate(EVENTS, start=1):
        event_id = str(uuid.uuid4())
        position = await session.scalar(
            text(
                "INSERT INTO event_log (id, source, source_position, type, subject, "
                "province_code, data, occurred_at) VALUES (:id, :source, :n, :type, :subject, "
                ":province, CAST(:data AS jsonb), now()) RETURNING id"
            ),
            {
                "id": event_id,
                "source": source,
                "n": n,
                "type": event_type,
                "subject": f"/v1/things/{n}",
                "province": province,
                "data": json.dumps({"n": n}),
            },
        )
        assert position is not None
        found = await session.scalar(
            text("SELECT position FROM event_log WHERE id = :id"), {"id": event_id}
        )
        out.append((event_id, int(found)))
    # Releases the test's savepoint: a request that fails (410) rolls back its own.
    await session.commit()
    return out


async def _types(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> tuple[list[str], dict[str, Any]]:
    r = await client.get("/v1/events", headers=headers, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    return [e["type"] for e in body["items"]], body


async def test_feed_is_filtered_by_scope_and_province(
    registry_session: tuple[httpx.AsyncClient, AsyncSession], tokens: TokenFactory
) -> None:
    client, session = registry_session
    logged = await _log(session)

    everything, body = await _types(client, tokens.headers("admin"))
    assert everything == [t for _, t, _ in EVENTS]
    first = body["items"][0]
    assert first == {
        "specversion": "1.0",
        "id": logged[0][0],
        "source": "/otog/registry",
        "type": "group.created",
        "time": first["time"],
        "subject": "/v1/things/1",
        "datacontenttype": "application/json",
        "provincecode": "10",
        "data": {"n": 1},
    }
    national = body["items"][3]
    assert "provincecode" not in national and national["source"] == "/otog/loan-ledger"

    assert (await _types(client, tokens.headers("registry:read")))[0] == ["group.created"]
    # Province 10: its own events only, not province 50's loan nor the national one.
    seen, _ = await _types(client, tokens.headers("training:read", "loans:read", province="10"))
    assert seen == ["session.created"]
    seen, _ = await _types(client, tokens.headers("admin", province="50"))
    assert seen == ["loan.approved"]
    seen, _ = await _types(client, tokens.headers("admin"), types="loan.approved,group.created")
    assert seen == ["group.created", "loan.approved"]
    # Asking for types one may not read gives none of them (not an error).
    assert (await _types(client, tokens.headers("registry:read"), types="loan.approved"))[0] == []

    r = await client.get("/v1/events", headers=tokens.headers("admin"), params={"types": "x.y"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.types"
    r = await client.get("/v1/events", headers=tokens.headers("admin"), params={"after": "zz"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.after"
    assert (await client.get("/v1/events")).status_code == 401


async def test_cursor_pages_and_empty_pages(
    registry_session: tuple[httpx.AsyncClient, AsyncSession], tokens: TokenFactory
) -> None:
    client, session = registry_session
    logged = await _log(session)
    admin = tokens.headers("admin")

    ids: list[str] = []
    cursor = None
    for _ in range(len(EVENTS)):
        params: dict[str, Any] = {"limit": 1}
        if cursor:
            params["after"] = cursor
        _, body = await _types(client, admin, **params)
        ids += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
    assert ids == [i for i, _ in logged]
    _, body = await _types(client, admin, after=cursor)
    assert body["items"] == [] and body["next_cursor"] == cursor

    # A caller that reads only registry events: its empty page's cursor moves past
    # the events it cannot see, so the next poll does not scan them again.
    reader = tokens.headers("registry:read")
    _, body = await _types(client, reader, after=encode_feed_cursor(logged[0][1]))
    assert body["items"] == [] and body["next_cursor"] == encode_feed_cursor(logged[-1][1])
    # An empty feed still gives a cursor.
    await session.execute(text("DELETE FROM event_log"))
    _, body = await _types(client, reader)
    assert body == {"items": [], "next_cursor": encode_feed_cursor(0)}


async def test_cursor_before_what_is_kept_is_410(
    registry_session: tuple[httpx.AsyncClient, AsyncSession], tokens: TokenFactory
) -> None:
    client, session = registry_session
    logged = await _log(session)
    admin = tokens.headers("admin")
    await session.execute(
        text("UPDATE event_log SET recorded_at = now() - interval '31 days' WHERE position <= :p"),
        {"p": logged[1][1]},
    )
    with pytest.raises(ValueError):
        await purge_events_older_than(session, 7)
    assert await purge_events_older_than(session, 30) == 2
    assert await EventLogRepository(session).purged_through() == logged[1][1]
    await session.commit()

    r = await client.get(
        "/v1/events", headers=admin, params={"after": encode_feed_cursor(logged[0][1])}
    )
    assert r.status_code == 410, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/cursor-expired"
    # A cursor at the purge point lost nothing; no cursor starts at the oldest kept.
    _, body = await _types(client, admin, after=encode_feed_cursor(logged[1][1]))
    assert [e["id"] for e in body["items"]] == [logged[2][0], logged[3][0]]
    _, body = await _types(client, admin)
    assert [e["id"] for e in body["items"]] == [logged[2][0], logged[3][0]]
    assert await purge_events_older_than(session, 30) == 0
