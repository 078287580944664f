"""/metrics: on each service's own port, summed over its uvicorn workers, by route
template; business counters follow the commit; never routed by the gateway."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from otog_devstack.processes import ServiceProcess
from otog_shared import metrics
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Stack
from tests.ops.support import delta, scrape, value


def test_requests_are_counted_by_route_template_over_all_workers(
    service_processes: Callable[..., ServiceProcess],
) -> None:
    registry = service_processes("registry", workers=3)
    before = scrape(registry.base_url)
    codes = ["10", "15", "50", "62", "99"] * 6  # 99 is no province: 404
    for code in codes:
        # A new connection each time, so that the requests spread over the workers.
        r = httpx.get(f"{registry.base_url}/v1/provinces/{code}", timeout=5)
        assert r.status_code == (404 if code == "99" else 200)
    after = scrape(registry.base_url)

    route = {"method": "GET", "route": "/v1/provinces/{code}"}
    assert delta(before, after, "otog_http_requests_total", **route, status="200") == 24
    assert delta(before, after, "otog_http_requests_total", **route, status="404") == 6
    assert delta(before, after, "otog_http_request_duration_seconds_count", **route) == 30
    # Every answer took less than the largest finite bucket.
    assert (
        delta(before, after, "otog_http_request_duration_seconds_bucket", **route, le="300.0") == 30
    )
    # Templates only: no code, id or other path value becomes a label.
    routes = {dict(labels).get("route") for _, labels in after}
    assert not any(r and ("/v1/provinces/1" in r or "/v1/provinces/9" in r) for r in routes)

    # The workers wrote their own files; the scrape added them up.
    assert registry.metrics_path is not None
    assert any(registry.metrics_path.glob("counter_*.db"))

    # At rest nothing holds a connection or waits for one.
    assert value(after, "otog_db_pool_connections_in_use") == 0
    assert value(after, "otog_db_session_slots_waiting") == 0
    assert ("otog_db_session_slots_in_use", frozenset()) in after


def test_unknown_paths_are_one_series(
    service_processes: Callable[..., ServiceProcess],
) -> None:
    registry = service_processes("registry", workers=3)
    before = scrape(registry.base_url)
    for i in range(3):
        assert httpx.get(f"{registry.base_url}/no/such/{i}", timeout=5).status_code == 404
    after = scrape(registry.base_url)
    labels = {"method": "GET", "route": metrics.UNMATCHED_ROUTE, "status": "404"}
    assert delta(before, after, "otog_http_requests_total", **labels) == 3


async def test_business_counts_follow_the_commit(registry_app: FastAPI) -> None:
    counted = metrics.counter("otog_test_commits_total", "Test counter.", ("outcome",))
    assert metrics.counter("otog_test_commits_total", "again") is counted

    async with AsyncSession(registry_app.state.engine) as session:
        await session.execute(text("SELECT 1"))
        metrics.count_on_commit(session, counted, outcome="kept")
        metrics.count_on_commit(session, counted, 2, outcome="kept")
        assert not REGISTRY.get_sample_value("otog_test_commits_total", {"outcome": "kept"})
        await session.commit()

        await session.execute(text("SELECT 1"))
        metrics.count_on_commit(session, counted, outcome="dropped")
        await session.rollback()
        await session.execute(text("SELECT 1"))
        await session.commit()

    assert REGISTRY.get_sample_value("otog_test_commits_total", {"outcome": "kept"}) == 3
    assert not REGISTRY.get_sample_value("otog_test_commits_total", {"outcome": "dropped"})


def _collect(directory: Path) -> dict[str, float]:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, str(directory))  # type: ignore[no-untyped-call]
    return {
        s.name: s.value for family in registry.collect() for s in family.samples if not s.labels
    }


def test_a_dead_worker_leaves_the_live_sums(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    inc = "from otog_shared.metrics import DB_POOL_IN_USE as g; g.inc({n}); "
    # A worker killed with connections in use (it never got to say goodbye)…
    subprocess.run([sys.executable, "-c", inc.format(n=3)], env=env, check=True)
    # …and one still running with one in use.
    alive = subprocess.Popen(
        [sys.executable, "-c", inc.format(n=1) + "import time; time.sleep(60)"], env=env
    )
    try:
        deadline = time.monotonic() + 20
        while _collect(tmp_path).get("otog_db_pool_connections_in_use") != 4:
            assert time.monotonic() < deadline, "the workers' gauges never appeared"
            time.sleep(0.1)
        dead = metrics.mark_dead_workers(str(tmp_path))
        assert alive.pid not in dead and len(dead) == 1
        assert _collect(tmp_path)["otog_db_pool_connections_in_use"] == 1
    finally:
        alive.kill()
        alive.wait()


def test_metrics_are_not_in_the_contract(registry_app: FastAPI) -> None:
    assert "/metrics" not in registry_app.openapi()["paths"]


@pytest.mark.e2e
def test_the_gateway_does_not_route_metrics_and_shows_its_own_status(
    live_stack: Stack,
) -> None:
    r = httpx.get(f"{live_stack.gateway_url}/metrics", timeout=5)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    for name in live_stack.services:
        assert (
            httpx.get(f"{live_stack.gateway_url}/v1/{name}/metrics", timeout=5).status_code == 404
        )
    # The services answer it on their own ports.
    assert scrape(live_stack.services["training"].base_url)

    r = httpx.get(f"{live_stack.gateway_url}/_gateway/status", timeout=5)
    assert r.status_code == 200
    assert r.text.startswith("Active connections:")
    assert "server accepts handled requests" in r.text
