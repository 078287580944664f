"""Webhook delivery: events from the merged log to a local receiver.

The delivery worker runs as ``make run`` starts it; a subscription of an ``admin``
client takes every event. The events are written into ``event_log`` in commits of
20, 200 a second, as the registry's collector writes what it gathers from the
services' outboxes, as many as 10,000 bookings and 1,000 repayments make (11,000;
tiny: 60).
Measured: throughput, and per event the delay from its commit to its arrival at the
receiver (p50/p95/p99), the worker's fan-out, claims, signing and HTTP included.

Not measured here: the cost the outbox adds to the booking and repayment endpoints.
That needs the services to record their events (the outbox writes of the event
emission work), and the seat-rush and loans scenarios run once with a subscription
and once without; until then this scenario says so in its results.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import asyncpg
from otog_devstack.processes import stop_group
from otog_shared.outbox import EVENT_LOG_CHANNEL
from standardwebhooks import Webhook

from bench.harness import Bench
from bench.pgbench import latency_summary

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
    """A keep-alive HTTP/1.1 receiver on its own thread and event loop that answers
    204 at once and notes when each ``webhook-id`` first arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        # Deliveries per ``webhook-id``: more than one is a duplicate (at least once).
        self.deliveries: Counter[str] = Counter()
        self.requests = 0
        self.unverified = 0
        self.secret = ""
        self.port = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/otog/webhooks"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=512)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers: dict[str, str] = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                at = time.time()
                self.requests += 1
                event_id = headers.get("webhook-id", "")
                self.arrivals.setdefault(event_id, at)
                self.deliveries[event_id] += 1
                if self.requests % VERIFY_EVERY == 1 and self.secret:
                    try:
                        Webhook(self.secret).verify(body, headers)
                    except Exception:  # counted; a failed check
                        self.unverified += 1
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


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
        hook = await bench.call(
            "POST",
            "/v1/webhooks",
            json={"url": receiver.url, "event_types": ["*"], "description": "benchmark"},
            expect=(201,),
        )
        receiver.secret = hook["secret"]
        # The worker is up and connected once a ping has gone through.
        ping = await bench.call("POST", f"/v1/webhooks/{hook['id']}/ping", expect=(202,))
        ready_by = time.monotonic() + 120
        while ping["event_id"] not in receiver.arrivals:
            if time.monotonic() > ready_by or worker.poll() is not None:
                raise RuntimeError("the webhook worker did not deliver a ping; see webhooks.log")
            await asyncio.sleep(0.05)
        started = time.time()
        committed = await write_events(bench, count)
        written = time.time()
        deadline = time.monotonic() + 120 + count / 20
        while time.monotonic() < deadline and not committed.keys() <= receiver.arrivals.keys():
            if worker.poll() is not None:
                raise RuntimeError("the webhook worker exited; see webhooks.log")
            await asyncio.sleep(0.1)
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
            "(4 requests in flight for the one subscription)",
            "endpoint_cost": "not measured: needs the services' event emission",
        }
        bench.record("webhooks", "deliver events (commit → receiver)", data)
        bench.log(
            f"  webhooks: {len(arrived)}/{count} delivered in {data['seconds']} s = "
            f"{data['throughput_per_s']}/s; commit to delivery p50 {lat['p50']} "
            f"p99 {lat['p99']} ms"
        )
        bench.check("webhooks", "every event delivered", len(arrived) == count, len(arrived))
        bench.check("webhooks", "signatures verify", receiver.unverified == 0, receiver.unverified)
    finally:
        stop_group(worker.pid)
        receiver.close()
        if hook is not None:
            await bench.call("DELETE", f"/v1/webhooks/{hook['id']}", expect=(204,))
        await bench.sql("registry", "DELETE FROM event_log WHERE source = '/otog/bench'")
