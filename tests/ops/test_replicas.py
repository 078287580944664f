"""Two replicas of every service behind the real nginx: requests spread over both;
one replica killed, reads keep answering, and a POST that had reached it is not
sent again to the other (a 502, and nothing written twice)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from otog_devstack import nginx
from otog_devstack.postgres import free_port, plain_url
from otog_devstack.processes import ServiceProcess, stop_all, stop_group

from tests.ops.support import delta, scrape, value
from tests.registry.conftest import worker_body
from tests.support.stack import Databases, start_service
from tests.support.tokens import TokenFactory

pytestmark = pytest.mark.e2e

REPLICAS = 2


@dataclass
class ReplicaStack:
    gateway_url: str
    replicas: dict[str, list[ServiceProcess]]
    access_log: Path


@pytest.fixture(scope="module")
def replica_stack(
    databases: Databases,
    service_client_env: dict[str, dict[str, str]],
    data_dir: Path,
    log_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ReplicaStack]:
    replicas: dict[str, list[ServiceProcess]] = {"registry": [], "training": [], "loan-ledger": []}
    gateway = None
    try:
        for _ in range(REPLICAS):
            replicas["registry"].append(
                start_service(
                    "registry",
                    databases.live_urls["registry"],
                    port=free_port(),
                    data_dir=data_dir,
                    log_dir=log_dir,
                )
            )
        for name in ("training", "loan-ledger"):
            for i in range(REPLICAS):
                replicas[name].append(
                    start_service(
                        name,
                        databases.live_urls[name],
                        port=free_port(),
                        data_dir=data_dir,
                        log_dir=log_dir,
                        registry_url=replicas["registry"][i].base_url,
                        extra_env=service_client_env[name],
                    )
                )
        run_dir = tmp_path_factory.mktemp("replica-gateway")
        logs = tmp_path_factory.mktemp("replica-gateway-logs")
        port = free_port()
        ports = {name: tuple(p.port for p in procs) for name, procs in replicas.items()}
        conf = nginx.write_config(
            nginx.GatewayConfig(
                gateway_port=port,
                registry_port=ports["registry"][0],
                training_port=ports["training"][0],
                loan_ledger_port=ports["loan-ledger"][0],
                replica_ports=ports,
                run_dir=run_dir,
                log_dir=logs,
                worker_processes="1",
                proxy_read_timeout="20s",
                rate_per_client="2000r/s",
                burst_per_client=2000,
                rate_per_ip_public="2000r/s",
                burst_per_ip_public=2000,
            )
        )
        text = conf.read_text()
        for p in replicas["registry"]:
            assert f"server 127.0.0.1:{p.port} max_fails=" in text
        assert "non_idempotent" not in text.split("proxy_next_upstream ", 1)[1].split(";")[0]
        gateway = nginx.start(nginx.ensure_nginx(), conf, logs / "gateway.log")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and gateway.poll() is None, "nginx did not start"
            time.sleep(0.1)
        yield ReplicaStack(url, replicas, logs / "gateway-access.log")
    finally:
        if gateway is not None:
            stop_group(gateway.pid)
        stop_all(p for procs in replicas.values() for p in procs)


def _count(stack: ReplicaStack, service: str, route: str, method: str = "GET") -> list[float]:
    """Requests each replica of ``service`` answered on ``route``, any status."""
    out = []
    for p in stack.replicas[service]:
        samples = scrape(p.base_url)
        out.append(
            sum(
                v
                for (name, labels), v in samples.items()
                if name == "otog_http_requests_total"
                and dict(labels).get("route") == route
                and dict(labels).get("method") == method
            )
        )
    return out


def test_requests_spread_over_the_replicas(
    replica_stack: ReplicaStack, tokens: TokenFactory
) -> None:
    headers = tokens.headers("training:read", "loans:read")
    calls = {
        "registry": ("/v1/provinces", "/v1/provinces", {}),
        "training": ("/v1/courses", "/v1/courses", headers),
        "loan-ledger": ("/v1/funds", "/v1/funds", headers),
    }
    before = {name: _count(replica_stack, name, route) for name, (_, route, _) in calls.items()}
    with httpx.Client(base_url=replica_stack.gateway_url, timeout=10) as gw:
        for _ in range(10):
            for path, _, h in calls.values():
                r = gw.get(path, headers=h)
                assert r.status_code == 200, r.text
    for name, (_, route, _) in calls.items():
        after = _count(replica_stack, name, route)
        served = [a - b for a, b in zip(after, before[name], strict=True)]
        assert sum(served) == 10, (name, served)
        assert all(n > 0 for n in served), (name, served)


async def _workers_in_db(databases: Databases) -> int:
    conn = await asyncpg.connect(plain_url(databases.live_urls["registry"]))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM workers"))
    finally:
        await conn.close()


async def test_a_killed_replica_neither_stops_reads_nor_gets_its_post_resent(
    replica_stack: ReplicaStack, databases: Databases, tokens: TokenFactory
) -> None:
    """Runs last in this module: it kills a registry replica."""
    writer = tokens.headers("registry:read", "registry:write")
    workers_before = await _workers_in_db(databases)
    lock = await asyncpg.connect(plain_url(databases.live_urls["registry"]))
    async with httpx.AsyncClient(base_url=replica_stack.gateway_url, timeout=30) as gw:
        try:
            # Inserts into workers wait behind this lock: the POST stays in flight
            # on the replica it reached, after nginx has sent it all.
            tx = lock.transaction()
            await tx.start()
            await lock.execute("LOCK TABLE workers IN SHARE MODE")
            post = asyncio.create_task(gw.post("/v1/workers", json=worker_body(), headers=writer))
            victim = None
            deadline = time.monotonic() + 15
            while victim is None:
                assert time.monotonic() < deadline, "the POST never reached a replica"
                for p in replica_stack.replicas["registry"]:
                    samples = scrape(p.base_url)
                    if value(samples, "otog_http_requests_in_progress", method="POST") >= 1:
                        victim = p
                await asyncio.sleep(0.05)
            assert victim.proc is not None
            os.killpg(os.getpgid(victim.proc.pid), signal.SIGKILL)
            victim.proc.wait(10)
        finally:
            await lock.close()  # the lock goes with the connection

        r = await post
        # nginx had sent the POST: it does not send it to the other replica.
        assert r.status_code == 502, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert await _workers_in_db(databases) == workers_before

        # Reads keep answering: a request nginx sends to the dead replica is refused
        # and goes to the other one.
        for _ in range(12):
            r = await gw.get("/v1/provinces")
            assert r.status_code == 200
            r = await gw.get("/v1/workers", headers=writer, params={"limit": 1})
            assert r.status_code == 200
        # A POST whose connection is refused was never sent: the next replica gets it.
        for _ in range(4):
            r = await gw.post("/v1/workers", json=worker_body(), headers=writer)
            assert r.status_code == 201, r.text
        assert await _workers_in_db(databases) == workers_before + 4

    survivor = next(p for p in replica_stack.replicas["registry"] if p is not victim)
    assert survivor.proc is not None and survivor.proc.poll() is None
    # Every POST after the kill was written once, by the survivor.
    created = {"method": "POST", "route": "/v1/workers", "status": "201"}
    assert delta({}, scrape(survivor.base_url), "otog_http_requests_total", **created) == 4
