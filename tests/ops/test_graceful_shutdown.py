"""A replica told to stop (SIGTERM) reports not-ready at once, finishes the request it
is handling, and exits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from otog_devstack.postgres import free_port

from tests.registry.conftest import YAN_SUE, make_national_id
from tests.support.stack import Databases, start_service
from tests.support.tokens import TokenFactory

pytestmark = pytest.mark.e2e

DRAIN_SECONDS = 3
ROWS = 10
SECONDS_BETWEEN_ROWS = 0.5


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_drains_finishes_in_flight_and_exits(
    workers: int, databases: Databases, data_dir: Path, log_dir: Path, tokens: TokenFactory
) -> None:
    proc = start_service(
        "registry",
        databases.live_urls["registry"],
        port=free_port(),
        data_dir=data_dir,
        log_dir=log_dir,
        workers=workers,
        extra_env={"REGISTRY_SHUTDOWN_DRAIN_SECONDS": str(DRAIN_SECONDS)},
    )
    assert proc.proc is not None
    try:
        halfway = asyncio.Event()

        # A bulk import whose body arrives over five seconds: a request in flight
        # for all of the drain and beyond it.
        async def body() -> AsyncIterator[bytes]:
            yield b"national_id,first_name_th,last_name_th,birth_date,subdistrict_code\n"
            for i in range(ROWS):
                if i == 2:
                    halfway.set()
                yield f"{make_national_id()},ทยอย{i},ส่ง,1980-01-01,{YAN_SUE}\n".encode()
                await asyncio.sleep(SECONDS_BETWEEN_ROWS)

        headers = {**tokens.headers("registry:write"), "Content-Type": "text/csv"}
        async with httpx.AsyncClient(base_url=proc.base_url, timeout=30) as client:
            upload = asyncio.create_task(
                client.post("/v1/workers/import", content=body(), headers=headers)
            )
            await asyncio.wait_for(halfway.wait(), 10)
            proc.terminate()
            stopped_at = time.monotonic()
            await asyncio.sleep(0.5)

            # New probes, on new connections: not ready, though still alive and serving.
            async with httpx.AsyncClient(base_url=proc.base_url, timeout=3) as probe:
                ready = await probe.get("/v1/health/ready")
                live = await probe.get("/v1/health")
            assert time.monotonic() - stopped_at < DRAIN_SECONDS
            assert ready.status_code == 503, ready.text
            assert ready.headers["content-type"].startswith("application/problem+json")
            assert ready.json()["type"].endswith("/shutting-down")
            assert live.status_code == 200

            r = await upload
        # The import outlived the drain and was answered in full.
        assert time.monotonic() - stopped_at > DRAIN_SECONDS
        assert r.status_code == 200, r.text
        assert r.json()["created"] == ROWS

        # Then the process leaves by itself.
        proc.proc.wait(timeout=20)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{proc.base_url}/v1/health", timeout=2)
    finally:
        proc.stop()
