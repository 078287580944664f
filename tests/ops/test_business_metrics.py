"""Business counters of a real training process with three uvicorn workers: each
booking counted once, by outcome, whichever worker took it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from otog_devstack.processes import ServiceProcess

from tests.ops.support import delta, scrape
from tests.support.tokens import TokenFactory
from tests.training.helpers import create_session, create_worker

pytestmark = pytest.mark.e2e


async def test_bookings_are_counted_by_outcome(
    service_processes: Callable[..., ServiceProcess],
    live_registry: ServiceProcess,
    tokens: TokenFactory,
) -> None:
    training = service_processes("training", workers=3)
    async with httpx.AsyncClient(base_url=live_registry.base_url, timeout=30) as registry:
        workers = [await create_worker(registry, tokens) for _ in range(5)]
    headers = tokens.headers("training:read", "training:write")
    before = scrape(training.base_url)
    async with httpx.AsyncClient(base_url=training.base_url, timeout=30) as client:
        session = await create_session(client, headers, capacity=2, minimum=1)
        booked = await asyncio.gather(
            *(
                client.post(
                    f"/v1/training-sessions/{session['id']}/enrollments",
                    json={"worker_id": w},
                    headers=headers,
                )
                for w in workers
            )
        )
        assert [r.status_code for r in booked] == [201] * 5
        # A second booking of the same worker is refused: nothing is counted.
        again = await client.post(
            f"/v1/training-sessions/{session['id']}/enrollments",
            json={"worker_id": workers[0]},
            headers=headers,
        )
        assert again.status_code == 409
    after = scrape(training.base_url)
    assert delta(before, after, "otog_training_bookings_total", outcome="confirmed") == 2
    assert delta(before, after, "otog_training_bookings_total", outcome="waitlisted") == 3
