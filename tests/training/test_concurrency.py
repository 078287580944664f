"""Seats never oversell and queue positions stay 1..n under simultaneous requests
through several real service processes (3 uvicorn workers on one database)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from otog_devstack.postgres import plain_url
from otog_devstack.processes import ServiceProcess

from tests.support.stack import Databases, truncate_all
from tests.support.tokens import TokenFactory
from tests.training.helpers import course_body, create_worker, seat_invariants, session_body

pytestmark = pytest.mark.e2e

BOOKINGS = 200
SEATS = 50


@pytest.fixture(scope="module")
def training_process(
    service_processes: Callable[..., ServiceProcess], databases: Databases
) -> Iterator[ServiceProcess]:
    yield service_processes("training", workers=3)
    asyncio.run(truncate_all(databases.live_urls["training"]))


@pytest_asyncio.fixture(scope="module")
async def registered_workers(live_registry: ServiceProcess, tokens: TokenFactory) -> list[str]:
    """Workers created in the real registry, a few at a time."""
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=live_registry.base_url, timeout=30) as registry:

        async def one() -> str:
            async with limit:
                return await create_worker(registry, tokens)

        return list(await asyncio.gather(*(one() for _ in range(BOOKINGS))))


@pytest_asyncio.fixture
async def client(training_process: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    # Enough connections that every request is in flight at once.
    limits = httpx.Limits(max_connections=BOOKINGS + 50, max_keepalive_connections=BOOKINGS)
    async with httpx.AsyncClient(
        base_url=training_process.base_url, timeout=60, limits=limits
    ) as c:
        yield c


async def new_session(
    client: httpx.AsyncClient, headers: dict[str, str], capacity: int
) -> dict[str, Any]:
    course = await client.post("/v1/courses", json=course_body(), headers=headers)
    assert course.status_code == 201, course.text
    r = await client.post(
        "/v1/training-sessions",
        json=session_body(course.json()["id"], capacity=capacity, minimum=min(10, capacity)),
        headers=headers,
    )
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def book(
    client: httpx.AsyncClient, headers: dict[str, str], session_id: str, worker_id: str
) -> Any:
    return client.post(
        f"/v1/training-sessions/{session_id}/enrollments",
        json={"worker_id": worker_id},
        headers=headers,
    )


async def test_simultaneous_bookings_never_oversell(
    client: httpx.AsyncClient,
    tokens: TokenFactory,
    registered_workers: list[str],
    databases: Databases,
) -> None:
    headers = tokens.headers("training:read", "training:write")
    s = await new_session(client, headers, SEATS)

    responses = await asyncio.gather(
        *(book(client, headers, s["id"], w) for w in registered_workers)
    )
    assert [r.status_code for r in responses] == [201] * BOOKINGS, [
        r.text for r in responses if r.status_code != 201
    ][:3]
    bodies = [r.json() for r in responses]
    assert sum(b["status"] == "confirmed" for b in bodies) == SEATS
    positions = sorted(b["waitlist_position"] for b in bodies if b["status"] == "waitlisted")
    assert positions == list(range(1, BOOKINGS - SEATS + 1))

    after = (await client.get(f"/v1/training-sessions/{s['id']}", headers=headers)).json()
    assert after["confirmed_count"] == SEATS and after["waitlist_count"] == BOOKINGS - SEATS
    await seat_invariants(databases.live_urls["training"], s["id"])


async def test_cancellations_racing_bookings_keep_the_invariant(
    client: httpx.AsyncClient,
    tokens: TokenFactory,
    registered_workers: list[str],
    databases: Databases,
) -> None:
    headers = tokens.headers("training:read", "training:write")
    seats, first_wave = 20, 60
    s = await new_session(client, headers, seats)
    early, late = registered_workers[:first_wave], registered_workers[first_wave : first_wave + 30]
    bodies = [
        r.json() for r in await asyncio.gather(*(book(client, headers, s["id"], w) for w in early))
    ]
    confirmed = [b["id"] for b in bodies if b["status"] == "confirmed"]
    waiting = [b["id"] for b in bodies if b["status"] == "waitlisted"]
    assert len(confirmed) == seats

    rng = random.Random(4)
    leaving = rng.sample(confirmed, 15) + rng.sample(waiting, 15)
    race = [client.post(f"/v1/enrollments/{i}/cancel", headers=headers) for i in leaving]
    race += [book(client, headers, s["id"], w) for w in late]
    rng.shuffle(race)
    results = await asyncio.gather(*race)
    assert sorted(r.status_code for r in results) == [200] * 30 + [201] * 30, [
        r.text for r in results if r.status_code >= 300
    ][:3]

    await seat_invariants(databases.live_urls["training"], s["id"])
    after = (await client.get(f"/v1/training-sessions/{s['id']}", headers=headers)).json()
    # 60 booked, 30 left, 30 more booked: 60 live, 20 seated, 40 waiting.
    assert after["confirmed_count"] == seats and after["waitlist_count"] == 40


async def test_same_worker_at_once_gets_one_enrolment(
    client: httpx.AsyncClient, tokens: TokenFactory, registered_workers: list[str]
) -> None:
    headers = tokens.headers("training:read", "training:write")
    s = await new_session(client, headers, 5)
    worker = registered_workers[-1]
    results = await asyncio.gather(*(book(client, headers, s["id"], worker) for _ in range(12)))
    codes = sorted(r.status_code for r in results)
    assert codes == [201] + [409] * 11, codes
    after = (await client.get(f"/v1/training-sessions/{s['id']}", headers=headers)).json()
    assert after["confirmed_count"] == 1


async def promotions(db_url: str, session_id: str) -> dict[str, tuple[str, int, int]]:
    """Per enrolment: its status now, how many times it was queued and promoted."""
    conn = await asyncpg.connect(plain_url(db_url))
    try:
        found = await conn.fetch(
            "SELECT e.id::text AS id, e.status,"
            " count(*) FILTER (WHERE v.kind = 'enrollment.waitlisted') AS queued,"
            " count(*) FILTER (WHERE v.kind = 'enrollment.promoted') AS promoted"
            " FROM enrollments e LEFT JOIN enrollment_events v ON v.enrollment_id = e.id"
            " WHERE e.session_id = $1 GROUP BY e.id, e.status",
            uuid.UUID(session_id),
        )
    finally:
        await conn.close()
    return {r["id"]: (r["status"], r["queued"], r["promoted"]) for r in found}


async def test_capacity_changes_racing_bookings_and_cancellations(
    client: httpx.AsyncClient,
    tokens: TokenFactory,
    registered_workers: list[str],
    databases: Databases,
) -> None:
    """PATCHes of the capacity (up, and down as far as the seats taken allow) race
    bookings and cancellations through three processes: seats never oversell, the
    queue stays 1..n, nobody waits beside a free seat, and everyone moved up was
    told exactly once."""
    headers = tokens.headers("training:read", "training:write")
    seats, first_wave = 20, 60
    s = await new_session(client, headers, seats)
    early, late = registered_workers[:first_wave], registered_workers[first_wave : first_wave + 40]
    bodies = [
        r.json() for r in await asyncio.gather(*(book(client, headers, s["id"], w) for w in early))
    ]
    confirmed = [b["id"] for b in bodies if b["status"] == "confirmed"]
    waiting = [b["id"] for b in bodies if b["status"] == "waitlisted"]
    assert len(confirmed) == seats

    rng = random.Random(11)
    leaving = rng.sample(confirmed, 10) + rng.sample(waiting, 10)
    capacities = [26, 32, 38, 44, 21, 24]

    def resize(capacity: int) -> Any:
        return client.patch(
            f"/v1/training-sessions/{s['id']}", json={"capacity": capacity}, headers=headers
        )

    race = [client.post(f"/v1/enrollments/{i}/cancel", headers=headers) for i in leaving]
    race += [book(client, headers, s["id"], w) for w in late]
    race += [resize(c) for c in capacities]
    rng.shuffle(race)
    results = await asyncio.gather(*race)
    codes = sorted(r.status_code for r in results)
    # Cancels 200, bookings 201; a resize is 200, or 409 when it came after more
    # people had a seat than it would leave room for.
    assert codes.count(201) == 40 and codes.count(200) + codes.count(409) == 26, [
        r.text for r in results if r.status_code not in (200, 201, 409)
    ][:3]
    resized = [r for r in results if r.request.method == "PATCH"]
    refused = [r.json() for r in resized if r.status_code == 409]
    assert all(p["type"] == "/problems/capacity-below-confirmed" for p in refused)
    assert all(p["capacity"] < p["confirmed_count"] for p in refused)
    assert sum(r.status_code == 200 for r in resized) >= 1

    await seat_invariants(databases.live_urls["training"], s["id"])
    after = (await client.get(f"/v1/training-sessions/{s['id']}", headers=headers)).json()
    assert after["capacity"] in {r.json()["capacity"] for r in resized if r.status_code == 200}
    # 60 booked, 20 left, 40 more booked: 80 live people.
    assert after["confirmed_count"] + after["waitlist_count"] == 80
    assert after["confirmed_count"] == min(after["capacity"], 80)

    for status, queued, promoted in (
        await promotions(databases.live_urls["training"], s["id"])
    ).values():
        assert promoted <= queued
        if status == "waitlisted":
            assert promoted == 0
        if status == "confirmed":
            assert promoted == queued


async def waiting_on_locks(conn: asyncpg.Connection, database: str) -> int:
    found = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
        database,
    )
    return int(found)


async def test_if_match_lets_one_of_simultaneous_changes_through(
    client: httpx.AsyncClient, tokens: TokenFactory, databases: Databases
) -> None:
    """Twelve PATCHes with the same If-Match reach the database together (the session's
    row is held meanwhile, so they queue on it): the first one changes the session,
    the other eleven find their ETag stale."""
    headers = tokens.headers("training:read", "training:write")
    s = await new_session(client, headers, 30)
    etag = (await client.get(f"/v1/training-sessions/{s['id']}", headers=headers)).headers["etag"]
    url = plain_url(databases.live_urls["training"])
    holder = await asyncpg.connect(url)
    watcher = await asyncpg.connect(url)
    try:
        database = await holder.fetchval("SELECT current_database()")
        hold = holder.transaction()
        await hold.start()
        await holder.execute(
            "SELECT 1 FROM training_sessions WHERE id = $1 FOR UPDATE", uuid.UUID(s["id"])
        )
        changes = [
            asyncio.ensure_future(
                client.patch(
                    f"/v1/training-sessions/{s['id']}",
                    json={"capacity": 31 + i},
                    headers={**headers, "If-Match": etag},
                )
            )
            for i in range(12)
        ]
        for _ in range(200):
            if await waiting_on_locks(watcher, database) >= 12:
                break
            await asyncio.sleep(0.05)
        queued = await waiting_on_locks(watcher, database)
        await hold.rollback()
        results = await asyncio.gather(*changes)
    finally:
        await holder.close()
        await watcher.close()
    assert queued == 12
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [412] * 11, codes
    (winner,) = [r for r in results if r.status_code == 200]
    after = await client.get(f"/v1/training-sessions/{s['id']}", headers=headers)
    assert after.json()["capacity"] == winner.json()["capacity"]
    assert after.headers["etag"] == winner.headers["etag"]
