"""A failover under load, for real: the primary PostgreSQL of a Patroni cluster is
killed with SIGKILL while repayments and a seat rush run through nginx.

The registry, training and the loan ledger run as real processes behind the real
nginx, each connected with a multi-host URL and ``target_session_attrs=read-write``
to a cluster of three PostgreSQL nodes managed by Patroni (synchronous replication,
strict mode; ``otog_devstack.ha``). Clients post loan repayments with an
``Idempotency-Key`` and book seats in a training session, retrying as a client
should (503 and Retry-After, 502/504, no answer); a prober retries a write every
50 ms from the kill on. The postmaster of the leader is killed.

Then: a new primary within a bounded time; every acknowledged repayment and
booking on it, none twice; no 500; the services ready again without a restart;
the fund's trial balance balances. The killed node comes back by itself as a
standby (rewound if needed) and holds the same data; a second wave of load
passes and the checks hold again on both. The unavailability window (first
failed write to the first acknowledged write sent after it) is printed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from otog_devstack import nginx
from otog_devstack.ha import HACluster, Node
from otog_devstack.postgres import asyncpg_url, ensure_databases, free_port, plain_url
from otog_devstack.processes import ServiceProcess, stop_group
from otog_registry.cli import _create
from otog_shared.migrations import upgrade

from tests.loans.conftest import fund_body
from tests.support.faults import Attempt, RetryingClient, disbursed_loan
from tests.support.stack import SPECS, service_env
from tests.support.tokens import TokenFactory
from tests.training.helpers import course_body, national_id, seat_invariants, session_body

pytestmark = pytest.mark.failover

THB = 100  # satang
LOANS = 24
REPAYMENTS_PER_LOAN = 25  # 600 repayments in the first wave
REPAY_CLIENTS = 12
BOOKERS = 120  # workers rushing for the seats
SEATS = 40
BOOK_CLIENTS = 4
PACE = 0.05  # seconds each client waits between its requests: the load spans the failover
# A new primary must be serving within this (Patroni notices a dead postmaster
# within its 1 s loop and hands over at once; see otog_devstack.ha).
NEW_PRIMARY_WITHIN = 30.0
WORKERS = {"registry": 1, "training": 1, "loan-ledger": 2}
OFFICER = "officer-failover"


@dataclass
class HAStack:
    cluster: HACluster
    gateway_url: str
    databases: dict[str, str]  # service name -> database name
    tokens: TokenFactory
    log_dir: Path
    processes: list[ServiceProcess] = field(default_factory=list)

    def node_url(self, node: Node, service: str) -> str:
        return self.cluster.node_url(node, self.databases[service])


@pytest.fixture(scope="module")
def ha_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HAStack]:
    base = tmp_path_factory.mktemp("failover")
    cluster = HACluster(base / "cluster", fast=True)
    processes: list[ServiceProcess] = []
    gateway = None
    try:
        leader = cluster.start(timeout=180)
        databases = {name: f"ha_{SPECS[name].database}" for name in WORKERS}
        ensure_databases(cluster.node_url(leader), list(databases.values()))
        for name, db in databases.items():
            upgrade(SPECS[name].package, asyncpg_url(cluster.node_url(leader, db)))
        data_dir, log_dir = base / "data", base / "logs"
        log_dir.mkdir()
        registry_db = asyncpg_url(cluster.node_url(leader, databases["registry"]))
        registry_port = free_port()
        registry_url = f"http://127.0.0.1:{registry_port}"
        ports = {"registry": registry_port}
        for name, prefix in (("training", "TRAINING"), ("loan-ledger", "LOANS")):
            ports[name] = free_port()
            creds = asyncio.run(_create(registry_db, f"{name} service", ["registry:read"], None))
            env = service_env(
                name,
                cluster.service_url(databases[name]),
                data_dir=data_dir,
                registry_url=registry_url,
            )
            env[f"{prefix}_REGISTRY_CLIENT_ID"] = creds["client_id"]
            env[f"{prefix}_REGISTRY_CLIENT_SECRET"] = creds["client_secret"]
            processes.append(_process(name, ports[name], env, WORKERS[name], log_dir))
        registry_env = service_env(
            "registry",
            cluster.service_url(databases["registry"]),
            data_dir=data_dir,
            registry_url=None,
        )
        # The registry first: it makes the signing key the others' tokens need.
        registry = _process("registry", registry_port, registry_env, 1, log_dir)
        registry.start()
        processes.insert(0, registry)
        registry.wait_ready(timeout=120)
        for proc in processes[1:]:
            proc.start()
        for proc in processes[1:]:
            proc.wait_ready(timeout=120)
        gateway_port = free_port()
        conf = nginx.write_config(
            nginx.GatewayConfig(
                gateway_port=gateway_port,
                registry_port=ports["registry"],
                training_port=ports["training"],
                loan_ledger_port=ports["loan-ledger"],
                run_dir=base / "gateway",
                log_dir=log_dir,
                worker_processes="1",
                proxy_read_timeout="30s",
                rate_per_client="5000r/s",
                burst_per_client=5000,
                rate_per_ip_public="5000r/s",
                burst_per_ip_public=5000,
            )
        )
        gateway = nginx.start(nginx.ensure_nginx(), conf, log_dir / "gateway.log")
        url = f"http://127.0.0.1:{gateway_port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the gateway did not answer"
            time.sleep(0.1)
        yield HAStack(
            cluster=cluster,
            gateway_url=url,
            databases=databases,
            tokens=TokenFactory(data_dir / "jwt-signing-key.pem"),
            log_dir=log_dir,
            processes=processes,
        )
    finally:
        if gateway is not None:
            stop_group(gateway.pid)
        for proc in processes:
            proc.stop()
        cluster.stop()


def _process(
    name: str, port: int, env: dict[str, str], workers: int, log_dir: Path
) -> ServiceProcess:
    return ServiceProcess(
        name,
        SPECS[name].factory,
        port,
        env=env,
        workers=workers,
        log_path=log_dir / f"{name}-{port}.log",
    )


# --- the load ---


@dataclass
class Repayment:
    loan_id: str
    key: str
    amount: int


@dataclass
class Load:
    """What the clients were told, and every attempt they made."""

    fund_id: str
    loan_ids: list[str]
    session_id: str
    client: RetryingClient
    repayments: dict[str, Repayment] = field(default_factory=dict)  # acknowledged, by key
    repaid: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> answer
    # worker -> the enrolment's id, or None when the final answer was 409
    # already-enrolled after an attempt whose fate was unknown (it had been written).
    booked: dict[str, str | None] = field(default_factory=dict)
    workers: list[str] = field(default_factory=list)  # registered, to book seats
    acked: list[Attempt] = field(default_factory=list)  # attempts that got a 201

    def attempts(self) -> list[Attempt]:
        return self.client.attempts


def officer(stack: HAStack) -> dict[str, str]:
    return stack.tokens.headers("loans:read", "loans:write", "loans:approve", client_id=OFFICER)


def trainer(stack: HAStack) -> dict[str, str]:
    return stack.tokens.headers("training:read", "training:write", client_id="trainer")


async def prepare(gw: httpx.AsyncClient, stack: HAStack) -> Load:
    """A fund with disbursed loans, a training session, workers to book it."""
    headers = officer(stack)
    registrar = stack.tokens.headers("registry:read", "registry:write", client_id="registrar")
    r = await gw.post("/v1/funds", json=fund_body(budget_satang=50_000_000 * THB), headers=headers)
    assert r.status_code == 201, r.text
    fund_id = r.json()["id"]
    limit = asyncio.Semaphore(6)

    async def loan(i: int) -> str:
        async with limit:
            return await disbursed_loan(
                gw,
                fund_id,
                officer=headers,
                registrar=registrar,
                group_name=f"กลุ่มจักสาน {i} {uuid.uuid4().hex[:6]}",
                occupation="handicraft",
                purpose="Rattan and dyes",
            )

    async def worker() -> str:
        async with limit:
            w = await gw.post(
                "/v1/workers",
                json={
                    "national_id": national_id(),
                    "first_name_th": "สมใจ",
                    "last_name_th": "ทดสอบ",
                    "subdistrict_code": "100101",
                    "birth_date": "1982-03-09",
                },
                headers=registrar,
            )
            assert w.status_code == 201, w.text
            return str(w.json()["id"])

    loan_ids = list(await asyncio.gather(*(loan(i) for i in range(LOANS))))
    course = await gw.post("/v1/courses", json=course_body(), headers=trainer(stack))
    assert course.status_code == 201, course.text
    session = await gw.post(
        "/v1/training-sessions",
        json=session_body(course.json()["id"], capacity=SEATS, minimum=10),
        headers=trainer(stack),
    )
    assert session.status_code == 201, session.text
    load = Load(
        fund_id=fund_id,
        loan_ids=loan_ids,
        session_id=str(session.json()["id"]),
        client=RetryingClient(gw, deadline=time.monotonic() + 600),
    )
    load.workers = list(await asyncio.gather(*(worker() for _ in range(BOOKERS))))
    return load


async def repay(load: Load, stack: HAStack, job: Repayment) -> None:
    r, final = await load.client.send(
        "POST",
        f"/v1/loans/{job.loan_id}/repayments",
        json={"amount_satang": job.amount, "paid_on": "2025-02-15", "reference": job.key},
        headers={**officer(stack), "Idempotency-Key": job.key},
    )
    assert r.status_code == 201, r.text
    load.repayments[job.key] = job
    load.repaid[job.key] = r.json()
    load.acked.append(final)


async def book(load: Load, stack: HAStack, worker_id: str) -> None:
    before = len(load.client.attempts)
    r, final = await load.client.send(
        "POST",
        f"/v1/training-sessions/{load.session_id}/enrollments",
        json={"worker_id": worker_id},
        headers=trainer(stack),
    )
    mine = load.client.attempts[before:]
    if r.status_code == 409 and r.json()["type"] == "/problems/already-enrolled":
        # Only after an attempt whose outcome the client could not know: one that
        # was committed before its answer was lost.
        assert len(mine) > 1, r.text
        load.booked[worker_id] = None
        return
    assert r.status_code == 201, r.text
    load.booked[worker_id] = str(r.json()["id"])
    load.acked.append(final)


async def run_wave(load: Load, stack: HAStack, jobs: list[Repayment], workers: list[str]) -> None:
    repay_queue = list(reversed(jobs))
    book_queue = list(reversed(workers))

    async def repayer() -> None:
        while repay_queue:
            await repay(load, stack, repay_queue.pop())
            await asyncio.sleep(PACE)

    async def booker() -> None:
        while book_queue:
            await book(load, stack, book_queue.pop())
            await asyncio.sleep(PACE * 2)

    await asyncio.gather(
        *(repayer() for _ in range(REPAY_CLIENTS)), *(booker() for _ in range(BOOK_CLIENTS))
    )


def new_jobs(loan_ids: list[str], per_loan: int) -> list[Repayment]:
    return [
        Repayment(loan_id, uuid.uuid4().hex, (300 + (i * 11) % 400) * THB)
        for i in range(per_loan)
        for loan_id in loan_ids
    ]


# --- the checks ---


async def check_stored(stack: HAStack, node: Node, load: Load) -> None:
    """On ``node``: every acknowledged repayment once, as acknowledged, and nothing
    else; every booking once; the seats consistent."""
    conn = await asyncpg.connect(plain_url(stack.node_url(node, "loan-ledger")))
    try:
        rows = await conn.fetch(
            "SELECT id, loan_id, amount_satang, reference FROM repayments "
            "WHERE loan_id = ANY($1::uuid[])",
            load.loan_ids,
        )
        keys = await conn.fetch("SELECT key FROM idempotency_keys WHERE client_id = $1", OFFICER)
    finally:
        await conn.close()
    by_reference = Counter(row["reference"] for row in rows)
    twice = {k: n for k, n in by_reference.items() if n > 1}
    assert not twice, f"posted more than once on {node.name}: {twice}"
    assert set(by_reference) == set(load.repayments), node.name
    for row in rows:
        job = load.repayments[row["reference"]]
        assert str(row["loan_id"]) == job.loan_id and row["amount_satang"] == job.amount
        assert load.repaid[job.key]["id"] == str(row["id"])
    assert {k["key"] for k in keys} >= set(load.repayments)

    conn = await asyncpg.connect(plain_url(stack.node_url(node, "training")))
    try:
        enrolments = await conn.fetch(
            "SELECT id::text AS id, worker_id::text AS worker_id FROM enrollments "
            "WHERE session_id = $1",
            uuid.UUID(load.session_id),
        )
    finally:
        await conn.close()
    per_worker = Counter(e["worker_id"] for e in enrolments)
    assert set(per_worker.values()) <= {1}, node.name
    assert set(per_worker) == set(load.booked), node.name
    ids = {e["worker_id"]: e["id"] for e in enrolments}
    for worker_id, enrolment_id in load.booked.items():
        assert enrolment_id is None or ids[worker_id] == enrolment_id
    await seat_invariants(stack.node_url(node, "training"), load.session_id)


async def check_through_the_services(gw: httpx.AsyncClient, stack: HAStack, load: Load) -> None:
    reader = stack.tokens.headers("loans:read", client_id="reader")
    fund = (await gw.get(f"/v1/funds/{load.fund_id}", headers=reader)).json()
    assert fund["repaid_satang"] == sum(j.amount for j in load.repayments.values()), fund
    tb = (await gw.get(f"/v1/funds/{load.fund_id}/trial-balance", headers=reader)).json()
    assert tb["balanced"] and tb["reconciled"], tb
    session = await gw.get(f"/v1/training-sessions/{load.session_id}", headers=trainer(stack))
    body = session.json()
    assert body["confirmed_count"] + body["waitlist_count"] == len(load.booked), body
    assert body["confirmed_count"] == min(SEATS, len(load.booked)), body
    for name in ("registry", "training", "loan-ledger"):
        r = await gw.get(f"/v1/health/{name}")
        assert r.status_code == 200 and r.json()["status"] == "ready", r.text


def check_answers(load: Load) -> Counter[int | None]:
    """No 500, and only the failures a client retries."""
    statuses = load.client.statuses()
    assert 500 not in statuses, statuses
    assert set(statuses) <= {201, 409, 502, 503, 504, None}, statuses
    problems = Counter(a.problem_type for a in load.attempts() if a.status not in (201, 409))
    assert set(problems) <= {
        "/problems/database-unavailable",
        "/problems/transaction-conflict",
        "/problems/dependency-unavailable",
        "/problems/bad-gateway",
        "/problems/gateway-timeout",
        None,
    }, problems
    return statuses


async def caught_up(stack: HAStack, standby: Node, leader: Node, timeout: float = 60) -> None:
    """Wait until ``standby`` has replayed everything ``leader`` has written."""
    conn = await asyncpg.connect(plain_url(stack.cluster.node_url(leader)))
    try:
        target = await conn.fetchval("SELECT pg_current_wal_lsn()")
    finally:
        await conn.close()
    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(plain_url(stack.cluster.node_url(standby)))
    try:
        while await conn.fetchval("SELECT pg_last_wal_replay_lsn() < $1::pg_lsn", target):
            assert time.monotonic() < deadline, f"{standby.name} did not catch up"
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


# --- the test ---


async def test_the_primary_killed_under_load_loses_no_acknowledged_write(
    ha_stack: HAStack,
) -> None:
    stack = ha_stack
    cluster = stack.cluster
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60, limits=limits) as gw:
        load = await prepare(gw, stack)
        workers = load.workers
        old = await asyncio.to_thread(cluster.leader)
        assert old is not None
        first_wave = new_jobs(load.loan_ids, REPAYMENTS_PER_LOAN)
        timeline: dict[str, float] = {}
        prober = RetryingClient(gw, deadline=load.client.deadline, max_pause=0.05)

        async def chaos() -> None:
            while len(load.repayments) < len(first_wave) // 4:
                await asyncio.sleep(0.01)
            pid = cluster.postmaster_pid(old)
            os.kill(pid, signal.SIGKILL)
            timeline["kill"] = time.monotonic()
            while True:
                leader = await asyncio.to_thread(cluster.leader)
                if leader is not None and leader != old:
                    timeline["new_primary"] = time.monotonic()
                    timeline["new_primary_node"] = float(cluster.nodes.index(leader))
                    break
                assert time.monotonic() - timeline["kill"] < NEW_PRIMARY_WITHIN, (
                    f"no new primary within {NEW_PRIMARY_WITHIN:.0f} s: {cluster.members()}"
                )
                await asyncio.sleep(0.05)
            # Patroni starts the killed node again as a standby of the new primary
            # (after pg_rewind when its WAL went further).
            await asyncio.to_thread(cluster.wait_ready, 120, members=3)
            timeline["rejoined"] = time.monotonic()

        async def probe() -> None:
            while "kill" not in timeline:
                await asyncio.sleep(0.01)
            job = Repayment(load.loan_ids[0], uuid.uuid4().hex, 123 * THB)
            r, final = await prober.send(
                "POST",
                f"/v1/loans/{job.loan_id}/repayments",
                json={"amount_satang": job.amount, "paid_on": "2025-02-15", "reference": job.key},
                headers={**officer(stack), "Idempotency-Key": job.key},
            )
            assert r.status_code == 201, r.text
            load.repayments[job.key] = job
            load.repaid[job.key] = r.json()
            timeline["probe_write"] = final.done

        started = time.monotonic()
        watcher = asyncio.create_task(chaos())
        rushing = workers[: BOOKERS * 3 // 4]
        await asyncio.gather(probe(), run_wave(load, stack, first_wave, rushing))
        elapsed = time.monotonic() - started
        load.client.attempts += prober.attempts
        first_wave_statuses = check_answers(load)
        while "new_primary" not in timeline:
            await asyncio.sleep(0.05)
        new = cluster.nodes[int(timeline["new_primary_node"])]
        assert await asyncio.to_thread(cluster.leader) == new

        # --- on the new primary, through the services, without a restart ---
        await check_stored(stack, new, load)
        await check_through_the_services(gw, stack, load)
        for proc in stack.processes:
            assert proc.proc is not None and proc.proc.poll() is None, proc.name

        # --- the old primary back, as a standby, with the same data ---
        await watcher
        members = cluster.members()
        assert members[old.name]["role"] in ("replica", "sync_standby"), members
        assert members[old.name]["state"] == "streaming", members
        await caught_up(stack, old, new)
        await check_stored(stack, old, load)

        # --- and a second wave with the cluster whole again ---
        second_wave = new_jobs(load.loan_ids, 4)
        await run_wave(load, stack, second_wave, workers[BOOKERS * 3 // 4 :])
        statuses = check_answers(load)
        await check_stored(stack, new, load)
        await check_through_the_services(gw, stack, load)
        await caught_up(stack, old, new)
        await check_stored(stack, old, load)
        assert len(load.booked) == BOOKERS

    # --- the unavailability window ---
    kill = timeline["kill"]
    attempts = load.attempts()
    failed = [a for a in attempts if a.status not in (201, 409) and a.done >= kill]
    assert failed, "the kill was not noticed by any client: the test did not test a failover"
    first_failure = min(failed, key=lambda a: a.done)
    recovered = min(
        (a for a in attempts if a.status == 201 and a.sent >= first_failure.done),
        key=lambda a: a.done,
    )
    last_failure = max(a.done for a in failed)
    problems = Counter(a.problem_type for a in failed)
    print(
        f"\nfailover: {len(load.repayments)} repayments and {len(load.booked)} bookings "
        f"({sum(1 for v in load.booked.values() if v is not None)} answered 201) by "
        f"{REPAY_CLIENTS + BOOK_CLIENTS} clients and a prober; {len(attempts)} attempts: "
        f"{dict(statuses)}; the wave across the failover took {elapsed:.1f} s, its attempts "
        f"{dict(first_wave_statuses)}\n"
        f"  problems while failing over: {dict(problems)}\n"
        f"  primary {old.name} killed at +0; new primary {new.name} at "
        f"{timeline['new_primary'] - kill:.2f} s (Patroni /primary)\n"
        f"  first failed write at {first_failure.done - kill:.2f} s; first write acknowledged "
        f"after it at {recovered.done - kill:.2f} s: unavailability window "
        f"{recovered.done - first_failure.done:.2f} s\n"
        f"  prober (retrying every 50 ms) first write at {timeline['probe_write'] - kill:.2f} s; "
        f"last failed attempt at {last_failure - kill:.2f} s\n"
        f"  {old.name} streaming again as a standby at {timeline['rejoined'] - kill:.2f} s, "
        f"now {members[old.name]['role']}"
    )
