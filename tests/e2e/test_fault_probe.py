"""What an outside probe did to the running system, in about a minute.

The registry and the loan ledger run as real processes (several uvicorn workers)
behind the real nginx, on a PostgreSQL server of their own, so crashing it
disturbs nothing else in the suite. While clients post loan repayments with
``Idempotency-Key`` and retry as they should (502/503/504, 409 in flight, no
answer), one loan-ledger worker is killed with SIGKILL and PostgreSQL is
restarted in immediate mode (a crash: no checkpoint, recovery at start).

No client sees a 500, every repayment is stored exactly once with the figures
and the trial balance consistent, the services are ready again by themselves,
and the unavailability window is measured and printed.

Also: a worker insert and update that fail in the database for real (a check
constraint added to the live registry database refuses a marker name) leave none
of the person's values in the registry's log, PostgreSQL's log or the answer.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from otog_devstack import nginx
from otog_devstack.postgres import (
    EmbeddedPostgres,
    asyncpg_url,
    ensure_databases,
    free_port,
    plain_url,
    with_database,
)
from otog_devstack.processes import ServiceProcess, stop_group
from otog_registry.cli import _create
from otog_shared.migrations import upgrade

from tests.loans.conftest import fund_body
from tests.support.faults import RetryingClient, disbursed_loan, uvicorn_workers
from tests.support.stack import SPECS, service_env
from tests.support.tokens import TokenFactory

pytestmark = pytest.mark.e2e

THB = 100  # satang
LOANS = 40
REPAYMENTS_PER_LOAN = 20  # 800 repayments, as the probe sent
CLIENTS = 24  # concurrent clients
LOAN_WORKERS = 3


@dataclass
class FaultStack:
    pg: EmbeddedPostgres
    gateway_url: str
    registry: ServiceProcess
    loans: ServiceProcess
    db_urls: dict[str, str]
    tokens: TokenFactory
    log_dir: Path


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    base = tmp_path_factory.mktemp("faults")
    # Durable commits (the suite's own server turns synchronous_commit off, which
    # loses acknowledged commits in a crash). fsync stays off: only processes
    # crash here, and the operating system keeps what was written.
    pg = EmbeddedPostgres(base / "pg" / "data", free_port(), extra_options=["-c fsync=off"])
    pg.start()
    processes: list[ServiceProcess] = []
    gateway = None
    try:
        urls = {
            name: asyncpg_url(with_database(pg.url, f"faults_{SPECS[name].database}"))
            for name in ("registry", "loan-ledger")
        }
        ensure_databases(pg.url, [plain_url(u).rsplit("/", 1)[1] for u in urls.values()])
        for name, url in urls.items():
            upgrade(SPECS[name].package, url)
        data_dir, log_dir = base / "data", base / "logs"
        log_dir.mkdir()
        creds = asyncio.run(_create(urls["registry"], "loan ledger", ["registry:read"], None))
        registry = _service("registry", urls["registry"], data_dir, log_dir, workers=1)
        loans = _service(
            "loan-ledger",
            urls["loan-ledger"],
            data_dir,
            log_dir,
            workers=LOAN_WORKERS,
            registry_url=registry.base_url,
            extra_env={
                "LOANS_REGISTRY_CLIENT_ID": creds["client_id"],
                "LOANS_REGISTRY_CLIENT_SECRET": creds["client_secret"],
            },
        )
        # Started side by side: on a busy machine starting up is most of the setup.
        for proc in (registry, loans):
            proc.start()
            processes.append(proc)
        for proc in (registry, loans):
            proc.wait_ready(timeout=120)
        gateway_port = free_port()
        conf = nginx.write_config(
            nginx.GatewayConfig(
                gateway_port=gateway_port,
                registry_port=registry.port,
                training_port=free_port(),  # not started: these tests do not train
                loan_ledger_port=loans.port,
                run_dir=base / "gateway",
                log_dir=log_dir,
                worker_processes="1",
                proxy_read_timeout="20s",
                rate_per_client="5000r/s",
                burst_per_client=5000,
                rate_per_ip_public="5000r/s",
                burst_per_ip_public=5000,
            )
        )
        gateway = nginx.start(nginx.ensure_nginx(), conf, log_dir / "gateway.log")
        url = f"http://127.0.0.1:{gateway_port}"
        _wait_for(lambda: httpx.get(f"{url}/v1/health", timeout=1).status_code == 200, 15)
        yield FaultStack(
            pg=pg,
            gateway_url=url,
            registry=registry,
            loans=loans,
            db_urls=urls,
            tokens=TokenFactory(data_dir / "jwt-signing-key.pem"),
            log_dir=log_dir,
        )
    finally:
        if gateway is not None:
            stop_group(gateway.pid)
        for proc in processes:
            proc.stop()
        pg.stop()


def _service(
    name: str,
    db_url: str,
    data_dir: Path,
    log_dir: Path,
    *,
    workers: int,
    registry_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> ServiceProcess:
    port = free_port()
    env = service_env(name, db_url, data_dir=data_dir, registry_url=registry_url)
    return ServiceProcess(
        name,
        SPECS[name].factory,
        port,
        env={**env, **(extra_env or {})},
        workers=workers,
        log_path=log_dir / f"{name}-{port}.log",
    )


def _wait_for(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not come true in time")
        time.sleep(0.1)


def _log_text(stack: FaultStack, service: str) -> str:
    proc = stack.registry if service == "registry" else stack.loans
    assert proc.log_path is not None
    return proc.log_path.read_text(errors="replace")


# --- personal data in failing writes ---

MARKER_FIRST = "ทดสอบปฏิเสธ"  # the check constraint refuses this first name
PERSON = {
    "national_id": "1101700203450",
    "first_name_th": MARKER_FIRST,
    "last_name_th": "ใจดีเกินห้าม",
    "first_name_en": "Refusedname",
    "last_name_en": "Jaideeforbidden",
    "birth_date": "1979-11-23",
    "subdistrict_code": "100101",
    "phone": "0891234567",
    "social_security": "section_40",
}
OTHER = {
    "national_id": "3100600234567",
    "first_name_th": "สมหมายลับ",
    "last_name_th": "รักษาความลับ",
    "birth_date": "1968-02-29",
    "subdistrict_code": "100101",
    "phone": "0823456789",
}


def _with_check_digit(first12: str) -> str:
    total = sum(int(d) * w for d, w in zip(first12, range(13, 1, -1), strict=True))
    return first12 + str((11 - total % 11) % 10)


async def test_failing_worker_writes_leave_no_personal_data_in_any_log(
    fault_stack: FaultStack,
) -> None:
    stack = fault_stack
    person = {**PERSON, "national_id": _with_check_digit("110170020345")}
    other = {**OTHER, "national_id": _with_check_digit("310060023456")}
    conn = await asyncpg.connect(plain_url(stack.db_urls["registry"]))
    await conn.execute(
        "ALTER TABLE workers ADD CONSTRAINT ck_workers_fault_probe "
        f"CHECK (first_name_th <> '{MARKER_FIRST}') NOT VALID"
    )
    headers = stack.tokens.headers("registry:read", "registry:write", "pii:read")
    try:
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=20) as gw:
            created = await gw.post("/v1/workers", json=person, headers=headers)
            stored = await gw.post("/v1/workers", json=other, headers=headers)
            assert stored.status_code == 201, stored.text
            updated = await gw.patch(
                f"/v1/workers/{stored.json()['id']}",
                json={"first_name_th": MARKER_FIRST},
                headers=headers,
            )
    finally:
        await conn.execute("ALTER TABLE workers DROP CONSTRAINT ck_workers_fault_probe")
        await conn.close()

    for r in (created, updated):
        assert r.status_code == 500, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"] == "/problems/internal-error"
    assert await _count(stack, "SELECT count(*) FROM workers WHERE first_name_th = $1") == 0

    service_log = _log_text(stack, "registry")
    server_log = stack.pg.log.read_text(errors="replace")
    # The failures were logged (so the search below is not vacuous)...
    assert service_log.count("ck_workers_fault_probe") >= 2, service_log[-3000:]
    assert "sqlstate=23514" in service_log
    assert server_log.count('violates check constraint "ck_workers_fault_probe"') >= 2
    # ...without a single value of either person, in the forms PostgreSQL and
    # Python write them.
    values = []
    for p in (person, other):
        values += [v for k, v in p.items() if k not in ("subdistrict_code", "social_security")]
        year, month, day = p["birth_date"].split("-")
        values.append(f"{int(year)}, {int(month)}, {int(day)}")  # datetime.date(...)
    values += ["Failing row", "[parameters", "DETAIL"]
    for value in values:
        for name, text in (("service", service_log), ("server", server_log)):
            assert value not in text, (name, value)
        assert value not in created.text and value not in updated.text, value


async def _count(stack: FaultStack, sql: str) -> int:
    conn = await asyncpg.connect(plain_url(stack.db_urls["registry"]))
    try:
        return int(await conn.fetchval(sql, MARKER_FIRST))
    finally:
        await conn.close()


# --- the probe: repayments through a killed worker and a database crash ---


@dataclass
class Job:
    loan_id: str
    key: str
    amount: int


async def _disbursed_loans(gw: httpx.AsyncClient, stack: FaultStack) -> tuple[str, list[str]]:
    officer = stack.tokens.headers(
        "loans:read", "loans:write", "loans:approve", client_id="officer-faults"
    )
    registrar = stack.tokens.headers("registry:read", "registry:write", client_id="registrar")
    r = await gw.post("/v1/funds", json=fund_body(budget_satang=50_000_000 * THB), headers=officer)
    assert r.status_code == 201, r.text
    fund_id = r.json()["id"]
    limit = asyncio.Semaphore(8)

    async def one(i: int) -> str:
        async with limit:
            return await disbursed_loan(
                gw,
                fund_id,
                officer=officer,
                registrar=registrar,
                group_name=f"กลุ่มทอผ้า {i} {uuid.uuid4().hex[:6]}",
                occupation="textiles_weaving",
                purpose="Looms and yarn",
            )

    return fund_id, list(await asyncio.gather(*(one(i) for i in range(LOANS))))


async def test_repayments_survive_a_killed_worker_and_a_database_crash(
    fault_stack: FaultStack,
) -> None:
    stack = fault_stack
    officer = stack.tokens.headers(
        "loans:read", "loans:write", "loans:approve", client_id="officer-faults"
    )
    limits = httpx.Limits(max_connections=CLIENTS + 8, max_keepalive_connections=CLIENTS + 8)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30, limits=limits) as gw:
        fund_id, loan_ids = await _disbursed_loans(gw, stack)
        jobs = [
            Job(loan_id, uuid.uuid4().hex, (500 + (i * 7) % 300) * THB)
            for i in range(REPAYMENTS_PER_LOAN)
            for loan_id in loan_ids
        ]
        client = RetryingClient(gw, deadline=time.monotonic() + 120)
        acknowledged: dict[str, dict[str, Any]] = {}
        # When the attempt that got each acknowledgement was sent, and answered.
        ack_times: dict[str, tuple[float, float]] = {}
        queue: asyncio.Queue[Job] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)

        async def repay_all() -> None:
            while not queue.empty():
                job = queue.get_nowait()
                r, final = await client.send(
                    "POST",
                    f"/v1/loans/{job.loan_id}/repayments",
                    json={
                        "amount_satang": job.amount,
                        "paid_on": "2025-02-15",
                        "reference": job.key,
                    },
                    headers={**officer, "Idempotency-Key": job.key},
                )
                assert r.status_code == 201, r.text
                ack_times[job.key] = (final.sent, final.done)
                acknowledged[job.key] = r.json()

        async def until(count: int) -> None:
            while len(acknowledged) < count:
                await asyncio.sleep(0.02)

        timeline: dict[str, float] = {}
        ready_probes: list[tuple[float, float, int]] = []

        async def chaos() -> None:
            await until(len(jobs) // 5)
            before = uvicorn_workers(stack.loans.proc.pid)  # type: ignore[union-attr]
            assert len(before) == LOAN_WORKERS, before
            victim = before[0]
            os.kill(victim, signal.SIGKILL)
            timeline["kill"] = time.monotonic()
            watcher = asyncio.create_task(watch_replacement(victim))
            await until(len(jobs) * 2 // 5)
            timeline["restart"] = time.monotonic()
            # pg_ctl restart -m immediate, in its two steps, to time the old
            # server's end: the crash (every backend killed at once)...
            await asyncio.to_thread(stack.pg.stop, "immediate")
            timeline["down"] = time.monotonic()
            # ...and the start, with crash recovery; -w waits until it accepts connections.
            await asyncio.to_thread(stack.pg.start)
            timeline["up"] = time.monotonic()
            await watcher

        async def watch_replacement(victim: int) -> None:
            """uvicorn's supervisor starts a new worker in the killed one's place, and
            its startup completes (one more "Application startup complete")."""
            deadline = time.monotonic() + 90
            while True:
                now = uvicorn_workers(stack.loans.proc.pid)  # type: ignore[union-attr]
                started = _log_text(stack, "loan-ledger").count("Application startup complete")
                if len(now) == LOAN_WORKERS and victim not in now and started > LOAN_WORKERS:
                    timeline["worker_back"] = time.monotonic()
                    return
                assert time.monotonic() < deadline, f"the killed worker was not replaced: {now}"
                await asyncio.sleep(0.1)

        # A write prober, sending after the old server is gone and retrying every
        # 50 ms (not honouring Retry-After), times when writes work again.
        prober = RetryingClient(gw, deadline=client.deadline, max_pause=0.05)
        probe_job = Job(loan_ids[0], uuid.uuid4().hex, 123 * THB)

        async def probe_writes() -> None:
            while "down" not in timeline:
                await asyncio.sleep(0.01)
            r, final = await prober.send(
                "POST",
                f"/v1/loans/{probe_job.loan_id}/repayments",
                json={
                    "amount_satang": probe_job.amount,
                    "paid_on": "2025-02-15",
                    "reference": probe_job.key,
                },
                headers={**officer, "Idempotency-Key": probe_job.key},
            )
            assert r.status_code == 201, r.text
            acknowledged[probe_job.key] = r.json()
            timeline["first_write"] = final.done

        async def probe_readiness() -> None:
            while "down" not in timeline:
                await asyncio.sleep(0.01)
            deadline = time.monotonic() + 60
            while True:
                assert time.monotonic() < deadline, f"not ready again: {ready_probes[-3:]}"
                sent = time.monotonic()
                statuses = []
                for name in ("loan-ledger", "registry"):
                    try:
                        r = await gw.get(f"/v1/health/{name}", timeout=5)
                        statuses.append(r.status_code)
                        if r.status_code == 503:
                            assert r.json()["type"] == "/problems/database-unavailable", r.text
                            assert r.headers["retry-after"] == "1"
                    except httpx.TransportError:
                        statuses.append(0)
                status = 200 if statuses == [200, 200] else max(statuses)
                ready_probes.append((sent, time.monotonic(), status))
                if status == 200:
                    return
                await asyncio.sleep(0.05)

        started = time.monotonic()
        await asyncio.gather(
            chaos(), probe_readiness(), probe_writes(), *(repay_all() for _ in range(CLIENTS))
        )
        jobs.append(probe_job)
        client.attempts += prober.attempts
        elapsed = time.monotonic() - started

        # --- what the clients saw ---
        statuses = client.statuses()
        assert 500 not in statuses, statuses
        assert set(statuses) <= {201, 409, 502, 503, 504, None}, statuses
        problem_types = Counter(a.problem_type for a in client.attempts if a.status != 201)
        assert set(problem_types) <= {
            "/problems/database-unavailable",
            "/problems/transaction-conflict",
            "/problems/idempotency-key-in-flight",
            "/problems/bad-gateway",
            "/problems/gateway-timeout",
            None,  # no answer at all
        }, problem_types
        assert len(acknowledged) == len(jobs)

        # --- what was stored: each repayment once, as acknowledged ---
        conn = await asyncpg.connect(plain_url(stack.db_urls["loan-ledger"]))
        try:
            rows = await conn.fetch(
                "SELECT id, loan_id, amount_satang, reference FROM repayments "
                "WHERE loan_id = ANY($1::uuid[])",
                loan_ids,
            )
            keys = await conn.fetch(
                "SELECT key FROM idempotency_keys WHERE client_id = 'officer-faults'"
            )
        finally:
            await conn.close()
        by_reference = Counter(row["reference"] for row in rows)
        assert len(rows) == len(jobs) and set(by_reference.values()) == {1}
        stored = {row["reference"]: row for row in rows}
        for job in jobs:
            row = stored[job.key]
            assert str(row["loan_id"]) == job.loan_id and row["amount_satang"] == job.amount
            assert acknowledged[job.key]["id"] == str(row["id"])
        assert {k["key"] for k in keys} == {job.key for job in jobs}

        reader = stack.tokens.headers("loans:read", client_id="reader")
        total = sum(job.amount for job in jobs)
        fund = (await gw.get(f"/v1/funds/{fund_id}", headers=reader)).json()
        assert fund["repaid_satang"] == total, fund
        assert fund["disbursed_satang"] == LOANS * 100_000 * THB
        per_loan = Counter[str]()
        for job in jobs:
            per_loan[job.loan_id] += job.amount
        for loan_id in loan_ids[:5]:
            loan = (await gw.get(f"/v1/loans/{loan_id}", headers=reader)).json()
            assert loan["paid_satang"] == per_loan[loan_id], loan
        tb = (await gw.get(f"/v1/funds/{fund_id}/trial-balance", headers=reader)).json()
        assert tb["balanced"] and tb["reconciled"], tb

        # --- ready again, by themselves ---
        for name in ("registry", "loan-ledger"):
            r = await gw.get(f"/v1/health/{name}")
            assert r.status_code == 200 and r.json()["status"] == "ready", r.text

    # --- the unavailability window ---
    restart = timeline["restart"]
    clients_first = min(done for sent, done in ack_times.values() if sent >= timeline["down"])
    ready = next(done for sent, done, status in ready_probes if status == 200)
    failed = sum(1 for a in client.attempts if a.status != 201)
    # Failures of requests sent once the new server accepted connections: what
    # broken pooled connections would cost if they were not replaced at checkout.
    unavailable = [a for a in client.attempts if a.status in (503, None)]
    late = sum(1 for a in unavailable if a.sent > timeline["up"])
    last_failure = max((a.done for a in unavailable), default=restart)
    print(
        f"\nfault probe: {len(jobs)} repayments by {CLIENTS} clients and a prober in "
        f"{elapsed:.1f} s; {len(client.attempts)} attempts, {failed} failed and retried: "
        f"{dict(statuses)}\n"
        f"  problem types: {dict(problem_types)}\n"
        f"  killed worker replaced (its successor started up) after "
        f"{timeline['worker_back'] - timeline['kill']:.2f} s\n"
        f"  PostgreSQL crash-restart at +0: old server gone at {timeline['down'] - restart:.2f} s, "
        f"new one accepting connections at {timeline['up'] - restart:.2f} s\n"
        f"  both services ready at {ready - restart:.2f} s "
        f"({len(ready_probes) - 1} readiness probes not ready before)\n"
        f"  first write acknowledged at {timeline['first_write'] - restart:.2f} s "
        f"(prober retrying every 50 ms); at {clients_first - restart:.2f} s for the clients "
        f"honouring Retry-After\n"
        f"  last 503 or unanswered attempt at {last_failure - restart:.2f} s; {late} failed "
        f"attempts sent after the new server accepted connections"
    )

    # Nothing of the requests' values in the services' logs (the probe saw
    # idempotency keys there, as SQL parameters of failed statements).
    loan_log = _log_text(stack, "loan-ledger")
    for job in jobs[:50]:
        assert job.key not in loan_log
    assert "[parameters" not in loan_log
