"""Webhook delivery: events from the merged log to a local receiver.

The delivery worker runs as ``make run`` starts it; a subscription of an ``admin``
client takes every event. The events are written into ``event_log`` in commits of
20, 200 a second, as the registry's collector writes what it gathers from the
services' outboxes, as many as 10,000 bookings and 1,000 repayments make (11,000;
tiny: 60).
Measured: throughput, and per event the delay from its commit to its arrival at the
receiver (p50/p95/p99), the worker's fan-out, claims, signing and HTTP included.

The CPU each process group spent (the delivery worker, the receiver, PostgreSQL
and the services) is reported per thousand deliveries: the figure the worker's
changes are measured by. The cost to the booking and repayment endpoints is
``events_e2e``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from otog_devstack.processes import stop_group
from otog_shared.outbox import EVENT_LOG_CHANNEL
from standardwebhooks import Webhook

from bench.harness import Bench
from bench.pgbench import latency_summary
from bench.procs import CLK_TCK
from bench.stack import _children

FULL_EVENTS = 11_000
TINY_EVENTS = 60
COMMIT_BATCH = 20
# Events written per second: about what the booking and repayment endpoints commit
# at 200 connections on this machine (the seat rush's 165 bookings/s).
EVENTS_PER_SECOND = 200
# One request in this many is verified with the Standard Webhooks library (all of them
# would make the receiver, in the bench's own process, the bottleneck).
VERIFY_EVERY = 50


class Receiver:
    """A keep-alive HTTP/1.1 receiver in a process of its own (``python -m
    bench.webhooks``) that answers 204 at once and notes when each ``webhook-id``
    arrived. Its own process, not a thread of the bench's: a thread would share the
    load generator's interpreter lock and slow the very responses being timed, and
    its CPU could not be told apart from the load generator's.

    The bench reads what arrived with :meth:`refresh` (new arrivals since the last
    read, over a control path of the same server)."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        # Deliveries per ``webhook-id``: more than one is a duplicate (at least once).
        self.deliveries: Counter[str] = Counter()
        self.requests = 0
        self.unverified = 0
        self._seen = 0
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.webhooks", "receive"],
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            stop_group(self.proc.pid)
            raise RuntimeError("the webhook receiver did not start")
        self.port = int(line)
        self.pid = self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/otog/webhooks"

    def _control(self, path: str, body: bytes | None = None) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{CONTROL}{path}",
            data=body,
            method="POST" if body is not None else "GET",
        )
        with urllib.request.urlopen(request, timeout=30) as r:  # noqa: S310 - our own loopback
            return json.loads(r.read())

    async def set_secret(self, secret: str) -> None:
        await asyncio.to_thread(self._control, "/secret", secret.encode())

    async def refresh(self) -> None:
        """Take in what arrived since the last call."""
        got = await asyncio.to_thread(self._control, f"/arrivals?since={self._seen}")
        for event_id, at in got["arrivals"]:
            self.arrivals.setdefault(event_id, at)
            self.deliveries[event_id] += 1
        self._seen += len(got["arrivals"])
        self.requests = got["requests"]
        self.unverified = got["unverified"]

    def close(self) -> None:
        stop_group(self.proc.pid)


CONTROL = "/_bench"


async def receive() -> None:
    """The receiver's process: deliveries on any path, the bench's reads under CONTROL."""
    arrivals: list[tuple[str, float]] = []
    state = {"requests": 0, "unverified": 0}
    signer: list[Webhook] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                target = lines[0].split(" ")[1] if " " in lines[0] else ""
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if target.startswith(CONTROL):
                    answer = control(target[len(CONTROL) :], body)
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: " + str(len(answer)).encode() + b"\r\n\r\n" + answer
                    )
                    await writer.drain()
                    continue
                at = time.time()
                state["requests"] += 1
                arrivals.append((headers.get("webhook-id", ""), at))
                if state["requests"] % VERIFY_EVERY == 1 and signer:
                    try:
                        signer[0].verify(body, headers)
                    except Exception:  # counted; a failed check
                        state["unverified"] += 1
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def control(path: str, body: bytes) -> bytes:
        if path == "/secret":
            signer[:] = [Webhook(body.decode())]
            return b"{}"
        since = int(path.split("since=", 1)[1]) if "since=" in path else 0
        return json.dumps({"arrivals": arrivals[since:], **state}).encode()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


def _cpu(pid: int, *, children: bool = False) -> float:
    """CPU seconds of a process (with ``children``: of its waited-for children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    first = 13 if children else 11
    return (int(fields[first]) + int(fields[first + 1])) / CLK_TCK


def postgres_cpu(bench: Bench) -> float:
    """The PostgreSQL server's CPU so far: the postmaster, its live backends and
    those that have exited (counted in the postmaster's children's time)."""
    try:
        postmaster = int((bench.stack.pg.pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return (
        _cpu(postmaster)
        + _cpu(postmaster, children=True)
        + sum(_cpu(p) for p in _children(postmaster))
    )


async def collector_pid(bench: Bench) -> int | None:
    """The registry process that collects the outboxes: the one whose connection
    holds the collector's advisory lock (found by its client port among the
    registry processes' sockets)."""
    key = await bench.sql_value("registry", "SELECT hashtext('event_log.collector')::bigint")
    key &= (1 << 64) - 1
    port = await bench.sql_value(
        "registry",
        "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::oid"
        " AND l.objid = $2::oid AND l.objsubid = 1",
        key >> 32,
        key & 0xFFFFFFFF,
    )
    if port is None:
        return None
    return _owner_of_port(int(port), bench.stack.service_pids().get("registry", []))


def _owner_of_port(port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` has a TCP socket bound to local ``port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{cols[9]}]")
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return pid
    return None


@dataclass
class CpuGroups:
    """CPU seconds of each group of processes over one measured pass, from
    ``/proc``: each service (the registry's collecting process apart from its
    others), nginx, PostgreSQL, the delivery worker, the receiver, and the bench's
    own process (the load generator)."""

    pids: dict[str, list[int]]
    before: dict[str, float]

    @classmethod
    async def start(
        cls, bench: Bench, *, worker: int | None = None, receiver: int | None = None
    ) -> CpuGroups:
        pids = dict(bench.stack.service_pids())
        collecting = await collector_pid(bench)
        if collecting is not None and collecting in pids.get("registry", []):
            pids["registry"] = [p for p in pids["registry"] if p != collecting]
            pids["collector (a registry process)"] = [collecting]
        if worker is not None:
            pids["delivery worker"] = [worker]
        if receiver is not None:
            pids["receiver"] = [receiver]
        groups = cls(pids, {})
        groups.before = groups.now(bench)
        return groups

    def now(self, bench: Bench) -> dict[str, float]:
        out = {name: sum(_cpu(p) for p in pids) for name, pids in self.pids.items()}
        out["postgresql"] = postgres_cpu(bench)
        out["load generator (the bench)"] = time.process_time()
        return out

    def finish(self, bench: Bench) -> dict[str, float]:
        now = self.now(bench)
        return {name: round(now[name] - self.before.get(name, 0.0), 2) for name in now}


async def subscribe(bench: Bench, receiver: Receiver) -> dict[str, Any]:
    """A subscription of the bench's admin client to every event, sent to
    ``receiver``, which then verifies with its secret."""
    hook: dict[str, Any] = await bench.call(
        "POST",
        "/v1/webhooks",
        json={"url": receiver.url, "event_types": ["*"], "description": "benchmark"},
        expect=(201,),
    )
    await receiver.set_secret(hook["secret"])
    return hook


def start_worker(bench: Bench) -> subprocess.Popen[bytes]:
    registry = bench.stack.procs[0]
    log = open(bench.stack.layout.logs / "webhooks.log", "ab")  # noqa: SIM115 - the child keeps it
    return subprocess.Popen(
        [sys.executable, "-m", "otog_registry.webhooks.worker"],
        env={**os.environ, **registry.env, "REGISTRY_LOG_LEVEL": "WARNING"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def write_events(bench: Bench, count: int) -> dict[str, float]:
    """``count`` events in commits of COMMIT_BATCH; the time each one's commit returned."""
    committed: dict[str, float] = {}
    conn = await asyncpg.connect(bench.stack.db_url("registry"))
    try:
        base = time.time_ns()
        base_at = time.time()
        for start in range(0, count, COMMIT_BATCH):
            rows = []
            for i in range(start, min(count, start + COMMIT_BATCH)):
                # As many enrollments as bookings, then repayments.
                kind = "enrollment.confirmed" if i < count * 10 // 11 else "loan.repayment_posted"
                event_id = uuid.uuid4()
                rows.append(
                    (
                        event_id,
                        "/otog/bench",
                        base + i,
                        kind,
                        f"/v1/bench/{event_id}",
                        "55",
                        json.dumps({"bench": i}),
                        datetime.now(UTC),
                    )
                )
            # Paced: the delay measured is the pipeline's, not a backlog's.
            await asyncio.sleep(max(0.0, base_at + start / EVENTS_PER_SECOND - time.time()))
            async with conn.transaction():
                await conn.executemany(
                    "INSERT INTO event_log (id, source, source_position, type, subject,"
                    " province_code, data, occurred_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)",
                    rows,
                )
                # As the collector does: the delivery worker is woken at the commit.
                await conn.execute("SELECT pg_notify($1, '')", EVENT_LOG_CHANNEL)
            done = time.time()
            committed.update({str(r[0]): done for r in rows})
    finally:
        await conn.close()
    return committed


async def webhooks(bench: Bench) -> None:
    count = FULL_EVENTS if bench.sizes.seat_attempts >= 1_000 else TINY_EVENTS
    bench.log(f"webhooks: {count} events from the merged log to a local receiver")
    receiver = Receiver()
    worker = start_worker(bench)
    hook: dict[str, Any] | None = None
    try:
        hook = await subscribe(bench, receiver)
        # The worker is up and connected once a ping has gone through.
        ping = await bench.call("POST", f"/v1/webhooks/{hook['id']}/ping", expect=(202,))
        ready_by = time.monotonic() + 120
        while ping["event_id"] not in receiver.arrivals:
            if time.monotonic() > ready_by or worker.poll() is not None:
                raise RuntimeError("the webhook worker did not deliver a ping; see webhooks.log")
            await asyncio.sleep(0.05)
            await receiver.refresh()
        cpu = await CpuGroups.start(bench, worker=worker.pid, receiver=receiver.pid)
        await bench.reset_statements()
        started = time.time()
        committed = await write_events(bench, count)
        written = time.time()
        deadline = time.monotonic() + 120 + count / 20
        while time.monotonic() < deadline and not committed.keys() <= receiver.arrivals.keys():
            if worker.poll() is not None:
                raise RuntimeError("the webhook worker exited; see webhooks.log")
            await asyncio.sleep(0.1)
            await receiver.refresh()
        cpu_seconds = cpu.finish(bench)
        statements = (await bench.statements("otog_registry")).get("otog_registry", {})
        arrived = [receiver.arrivals[i] for i in committed if i in receiver.arrivals]
        delays = [receiver.arrivals[i] - t for i, t in committed.items() if i in receiver.arrivals]
        last = max(arrived, default=started)
        lat = latency_summary(delays)
        data: dict[str, Any] = {
            "kind": "webhooks",
            "events": count,
            "delivered": len(arrived),
            "requests": receiver.requests - 1,
            "write_seconds": round(written - started, 2),
            "seconds": round(last - started, 2),
            "throughput_per_s": round(len(arrived) / max(last - started, 1e-9), 1),
            "commit_to_delivery_ms": lat,
            "note": f"events written into event_log in commits of {COMMIT_BATCH}, "
            f"{EVENTS_PER_SECOND}/s; one worker process, its default concurrency "
            "(8 requests in flight for the one subscription)",
            "cpu_seconds": cpu_seconds,
            "cpu_ms_per_delivery": {
                k: round(1000 * v / max(len(arrived), 1), 3) for k, v in cpu_seconds.items()
            },
            # What PostgreSQL's share per delivery is spent on (the events' own
            # inserts included: they are the bench's writes, the collector's in life).
            "registry_statements": statements,
        }
        bench.record("webhooks", "deliver events (commit → receiver)", data)
        bench.log(
            f"  webhooks: {len(arrived)}/{count} delivered in {data['seconds']} s = "
            f"{data['throughput_per_s']}/s; commit to delivery p50 {lat['p50']} "
            f"p99 {lat['p99']} ms; CPU ms per delivery: worker "
            f"{data['cpu_ms_per_delivery']['delivery worker']}, postgresql "
            f"{data['cpu_ms_per_delivery']['postgresql']}, receiver "
            f"{data['cpu_ms_per_delivery']['receiver']}"
        )
        bench.check("webhooks", "every event delivered", len(arrived) == count, len(arrived))
        bench.check("webhooks", "signatures verify", receiver.unverified == 0, receiver.unverified)
    finally:
        stop_group(worker.pid)
        receiver.close()
        if hook is not None:
            await bench.call("DELETE", f"/v1/webhooks/{hook['id']}", expect=(204,))
        await bench.sql("registry", "DELETE FROM event_log WHERE source = '/otog/bench'")


if __name__ == "__main__" and sys.argv[1:] == ["receive"]:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # the receiver still works on the default loop
        pass
    asyncio.run(receive())
