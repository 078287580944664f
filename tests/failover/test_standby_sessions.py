"""What a service does when its database connection lands on a standby, against
real PostgreSQL (the suite's own server, no cluster needed):

- a pooled connection whose server became read-only under it (a failover demoted
  the node) refuses a write: 503 problem+json with Retry-After, nothing written,
  the connection discarded, and the next request, on a new connection, works;
- a multi-host URL with ``target_session_attrs=read-write`` whose hosts all
  refuse writes (a failover under way): 503, and writes work once one takes them.

A session or database set to ``default_transaction_read_only`` behaves for a
client as a hot standby does: the same SQLSTATE 25006 on a write, the same
refusal by asyncpg's read-write check at connect.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import APIRouter, FastAPI
from otog_devstack.postgres import asyncpg_url, ensure_databases, plain_url, with_database
from otog_shared.app import create_app
from otog_shared.db import DbSession
from otog_shared.settings import ServiceSettings
from sqlalchemy import text

from tests.support.stack import Databases

router = APIRouter(prefix="/v1/standby", tags=["standby"])
DATABASE = "test_standby_sessions"


@router.post("/notes/{label}")
async def write(label: str, session: DbSession) -> dict[str, int]:
    await session.execute(text("INSERT INTO notes (label) VALUES (:label)"), {"label": label})
    pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return {"pid": int(pid)}


@router.post("/demote")
async def demote(session: DbSession) -> dict[str, int]:
    """Makes this pooled connection read-only for good, as a demotion of its
    server would (committed: SET is undone by a rollback)."""
    await session.execute(text("SET SESSION default_transaction_read_only = on"))
    pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return {"pid": int(pid)}


@pytest.fixture(scope="module")
def server_url(databases: Databases) -> str:
    ensure_databases(databases.server_url, [DATABASE], recreate=True)
    url = with_database(databases.server_url, DATABASE)

    async def schema() -> None:
        conn = await asyncpg.connect(plain_url(url))
        try:
            await conn.execute("CREATE TABLE notes (label text PRIMARY KEY)")
        finally:
            await conn.close()

    asyncio.run(schema())
    return url


def multi_host(url: str) -> str:
    """The same server named twice, as a cluster's nodes are in a service's URL."""
    plain = plain_url(url)
    scheme_auth, _, rest = plain.partition("@")
    hostport, _, database = rest.partition("/")
    host, _, port = hostport.partition(":")
    return asyncpg_url(
        f"{scheme_auth}@/{database}?host={host},{host}&port={port},{port}"
        "&target_session_attrs=read-write"
    )


@pytest_asyncio.fixture
async def client_for() -> AsyncIterator[object]:
    stack: list[AsyncIterator[httpx.AsyncClient]] = []

    async def make(url: str) -> httpx.AsyncClient:
        app = create_app(
            ServiceSettings(database_url=url),
            service="standby",
            title="t",
            description="t",
            routers=[router],
        )
        gen = _client(app)
        stack.append(gen)
        return await anext(gen)

    yield make
    for gen in stack:
        with pytest.raises(StopAsyncIteration):
            await anext(gen)


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as c:
            yield c


async def _labels(url: str) -> set[str]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        return {r["label"] for r in await conn.fetch("SELECT label FROM notes")}
    finally:
        await conn.close()


def assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/database-unavailable"
    assert r.headers["retry-after"] == "1"


async def test_a_write_on_a_demoted_connection_answers_503_and_the_connection_is_replaced(
    server_url: str, client_for: object
) -> None:
    client = await client_for(asyncpg_url(server_url))  # type: ignore[operator]
    first = await client.post("/v1/standby/notes/before")
    assert first.status_code == 200, first.text
    # Requests one after another share the pool's one connection: demote it.
    demoted = await client.post("/v1/standby/demote")
    assert demoted.status_code == 200, demoted.text
    assert demoted.json()["pid"] == first.json()["pid"]

    refused = await client.post("/v1/standby/notes/refused")
    assert_unavailable(refused)

    after = await client.post("/v1/standby/notes/after")
    assert after.status_code == 200, after.text
    assert after.json()["pid"] != demoted.json()["pid"]
    assert await _labels(server_url) >= {"before", "after"}
    assert "refused" not in await _labels(server_url)


async def test_a_multi_host_url_with_no_writable_host_answers_503_until_one_takes_writes(
    server_url: str, client_for: object
) -> None:
    conn = await asyncpg.connect(plain_url(server_url))
    try:
        await conn.execute(f"ALTER DATABASE {DATABASE} SET default_transaction_read_only = on")
        client = await client_for(multi_host(server_url))  # type: ignore[operator]
        refused = await client.post("/v1/standby/notes/no-primary")
        assert_unavailable(refused)
        ready = await client.get("/v1/health/ready")
        assert_unavailable(ready)

        await conn.execute(f"ALTER DATABASE {DATABASE} RESET default_transaction_read_only")
        accepted = await client.post("/v1/standby/notes/primary-back")
        assert accepted.status_code == 200, accepted.text
    finally:
        await conn.execute(f"ALTER DATABASE {DATABASE} RESET default_transaction_read_only")
        await conn.close()
    labels = await _labels(server_url)
    assert "primary-back" in labels and "no-primary" not in labels
