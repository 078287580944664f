"""Bookings made one transaction each (``TRAINING_BOOKING_BATCHING=false``, also the
path a failed batch falls back to) racing decreases of their session's capacity,
through real service processes on one database, round after round: every booking
is stored and answered 201, every capacity change is applied or refused with
``capacity-below-confirmed``, and the seats hold. While the booking statement took
the session's row lock inside itself, it broke ``ck_training_sessions_confirmed_count``
here within a few rounds, and the booking was answered 409 already-enrolled with
nothing stored."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from otog_devstack.postgres import free_port
from otog_devstack.processes import ServiceProcess

from tests.support.stack import Databases, start_service, truncate_all
from tests.support.tokens import TokenFactory
from tests.training.helpers import course_body, create_worker, seat_invariants, session_body

pytestmark = pytest.mark.e2e

ROUNDS = 30
BOOKINGS = 24
CAPACITY = 10
RESIZES = 8


@pytest.fixture(scope="module")
def serial(
    databases: Databases,
    live_registry: ServiceProcess,
    service_client_env: dict[str, dict[str, str]],
    data_dir: Path,
    log_dir: Path,
) -> Iterator[ServiceProcess]:
    proc = start_service(
        "training",
        databases.live_urls["training"],
        port=free_port(),
        data_dir=data_dir,
        log_dir=log_dir,
        registry_url=live_registry.base_url,
        workers=3,
        extra_env={**service_client_env["training"], "TRAINING_BOOKING_BATCHING": "false"},
    )
    try:
        yield proc
    finally:
        proc.stop()
        asyncio.run(truncate_all(databases.live_urls["training"]))


@pytest_asyncio.fixture(scope="module")
async def workers(live_registry: ServiceProcess, tokens: TokenFactory) -> list[str]:
    async with httpx.AsyncClient(base_url=live_registry.base_url, timeout=30) as registry:
        return list(
            await asyncio.gather(*(create_worker(registry, tokens) for _ in range(BOOKINGS)))
        )


async def test_bookings_racing_capacity_decreases_on_the_serial_path(
    serial: ServiceProcess, tokens: TokenFactory, workers: list[str], databases: Databases
) -> None:
    headers = tokens.headers("training:read", "training:write")
    rng = random.Random(16)
    limits = httpx.Limits(max_connections=BOOKINGS + 16)
    async with httpx.AsyncClient(base_url=serial.base_url, timeout=60, limits=limits) as client:
        course = await client.post("/v1/courses", json=course_body(), headers=headers)
        assert course.status_code == 201, course.text

        for n in range(ROUNDS):
            made = await client.post(
                "/v1/training-sessions",
                json=session_body(course.json()["id"], capacity=CAPACITY, minimum=2),
                headers=headers,
            )
            assert made.status_code == 201, made.text
            session_id = made.json()["id"]

            def resize(capacity: int, session_id: str = session_id) -> Any:
                return client.patch(
                    f"/v1/training-sessions/{session_id}",
                    json={"capacity": capacity},
                    headers=headers,
                )

            # More people than seats, and changes down to about as many seats as the
            # bookings ahead of them took: some are applied, some refused.
            race = [
                client.post(
                    f"/v1/training-sessions/{session_id}/enrollments",
                    json={"worker_id": w},
                    headers=headers,
                )
                for w in workers
            ]
            race += [resize(rng.randint(2, CAPACITY - 1)) for _ in range(RESIZES)]
            rng.shuffle(race)
            results = await asyncio.gather(*race)

            booked = [r for r in results if r.request.method == "POST"]
            resized = [r for r in results if r.request.method == "PATCH"]
            where = f"round {n}, session {session_id}"
            assert [r.status_code for r in booked] == [201] * BOOKINGS, (
                where,
                [r.text for r in booked if r.status_code != 201][:3],
            )
            for r in resized:
                assert r.status_code == 200 or (
                    r.status_code == 409
                    and r.json()["type"] == "/problems/capacity-below-confirmed"
                ), (where, r.text)

            await seat_invariants(databases.live_urls["training"], session_id)
            after = await client.get(f"/v1/training-sessions/{session_id}", headers=headers)
            body = after.json()
            assert body["confirmed_count"] + body["waitlist_count"] == BOOKINGS, (where, body)
            assert body["confirmed_count"] == min(body["capacity"], BOOKINGS), (where, body)
            # Everyone answered 201 is stored with what they were told.
            listed = await client.get(
                f"/v1/training-sessions/{session_id}/enrollments",
                params={"limit": 100},
                headers=headers,
            )
            assert listed.status_code == 200, listed.text
            stored = {e["id"] for e in listed.json()["items"]}
            assert stored == {r.json()["id"] for r in booked}, where
