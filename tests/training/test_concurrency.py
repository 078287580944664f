"""Seats never oversell and queue positions stay 1..n under simultaneous requests
through several real service processes (3 uvicorn workers on one database)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
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
