# ruff: noqa: S311
"""What one subscription adds to the booking and repayment endpoints, measured by
switching it on and off during one load (a switchback experiment):
``make bench only=events-switchback``.

``events_e2e`` compares whole passes, A (no subscription) then B (one), each on a
machine that is not quite the same from one minute to the next: on this 2-core
virtual machine two A passes of the same load differ by 25–100% at p50, far more
than the 10% to be judged. Here the load runs without a break while the
subscription is turned on and off every ``SEGMENT_SECONDS`` (``PATCH
/v1/webhooks/{id}`` with ``enabled``, as a client would), so both states share every
minute of the machine's drift, and each request counts for the state it was
scheduled in. Requests scheduled in the first ``SETTLE_SECONDS`` of a segment are
left out: the deliveries of the segment before finish within it (commit to
delivery p99 is about 200 ms at this load).

The load is the judged one of ``events_e2e``: Poisson arrivals at 50% of the
saturating throughput, measured first without subscriptions in closed-loop passes
(``events_e2e``'s A pass); bookings (one session, distinct workers, as in the seat
rush) for ``load_seconds`` then repayments (``Idempotency-Key``, 10% sent twice),
in ``rounds`` rounds, each starting in the other state. Reported per endpoint: the
p50 and p99 of all requests in each state, what B adds with a 90% interval from a
bootstrap over segments (whole segments are resampled, so the run's drift and the
requests' dependence within a segment stay in the interval), beside the same
comparison of the A segments split in two (odd against even): the noise of the
method itself. The CPU each process group spent in each state comes from
``/proc``, read at every switch.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import os
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from otog_devstack.processes import stop_group

from bench.events_e2e import (
    BOOKING_NOTE,
    GOAL_ADDED_PERCENT,
    REPAY_NOTE,
    Load,
    Plan,
    active_loans,
    booking_requests,
    new_session,
    open_loop,
    repayment_count,
    repayment_requests,
    run_pass,
)
from bench.harness import Bench
from bench.scenarios import SEAT_PROVINCE, new_course, subdistricts
from bench.webhooks import CpuGroups, Receiver, start_worker, subscribe

SCENARIO = "events_switchback"
SEGMENT_SECONDS = 2.0
SETTLE_SECONDS = 0.3
SHARE = 0.5
# Closed-loop passes without subscriptions that set the offered load (their median).
CALIBRATION_PASSES = 2
BOOTSTRAP_SAMPLES = 400
STATEMENTS_SHOWN = 12
CONFIDENCE = 0.90


def rounds(bench: Bench) -> int:
    s = bench.sizes
    return 3 if s.seat_attempts >= 10_000 else 2 if s.seat_attempts >= 1_000 else 1


def load_seconds(bench: Bench) -> tuple[float, float]:
    """How long each round offers bookings, then repayments."""
    s = bench.sizes
    if s.seat_attempts >= 10_000:
        return (60.0, 20.0)
    return (30.0, 10.0) if s.seat_attempts >= 1_000 else (6.0, 4.0)


@dataclass
class Switcher:
    """Turns the subscription on and off every SEGMENT_SECONDS until stopped; notes
    when each state began and the CPU each process group spent in each state."""

    bench: Bench
    hook_id: str
    cpu: CpuGroups
    switches: list[tuple[float, bool]] = field(default_factory=list)
    seconds: dict[bool, float] = field(default_factory=lambda: {False: 0.0, True: 0.0})
    cpu_seconds: dict[bool, dict[str, float]] = field(default_factory=lambda: {False: {}, True: {}})
    _last: dict[str, float] | None = None
    # Per state, per (database, statement): calls and execution time (ms).
    statements: dict[bool, dict[tuple[str, str], list[float]]] = field(
        default_factory=lambda: {False: {}, True: {}}
    )
    _last_statements: dict[tuple[str, str], tuple[float, float]] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """From the state of the last switch, until ``stop``."""
        enabled = self.switches[-1][1]
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SEGMENT_SECONDS)
            if stop.is_set():
                break
            enabled = not enabled
            await self.switch(enabled)
        self._account(time.perf_counter(), self.cpu.now(self.bench))
        self._count(await self._statements())

    async def switch(self, enabled: bool) -> None:
        await self.bench.call(
            "PATCH", f"/v1/webhooks/{self.hook_id}", json={"enabled": enabled}, expect=(200,)
        )
        at = time.perf_counter()
        self._account(at, self.cpu.now(self.bench))
        self._count(await self._statements())
        self.switches.append((at, enabled))

    async def _statements(self) -> dict[tuple[str, str], tuple[float, float]]:
        rows = await self.bench.statement_totals()
        return {(r["datname"], r["query"]): (r["calls"], r["total_exec_time"]) for r in rows}

    def _count(self, now: dict[tuple[str, str], tuple[float, float]]) -> None:
        """Statements run since the last switch, to the state that ran them (the open
        loop resets the statistics when it starts: a count that went down started
        again from zero)."""
        if self._last_statements is not None and self.switches:
            totals = self.statements[self.switches[-1][1]]
            for key, (calls, ms) in now.items():
                before_calls, before_ms = self._last_statements.get(key, (0.0, 0.0))
                if calls < before_calls:
                    before_calls, before_ms = 0.0, 0.0
                got = totals.setdefault(key, [0.0, 0.0])
                got[0] += calls - before_calls
                got[1] += ms - before_ms
        self._last_statements = now

    def _account(self, at: float, snapshot: dict[str, float]) -> None:
        if self._last is not None and self.switches:
            began, state = self.switches[-1]
            self.seconds[state] += at - began
            totals = self.cpu_seconds[state]
            for name, value in snapshot.items():
                totals[name] = totals.get(name, 0.0) + value - self._last.get(name, 0.0)
        self._last = snapshot


def by_segment(
    samples: list[tuple[float, float]], switches: list[tuple[float, bool]]
) -> dict[bool, list[list[float]]]:
    """Each state's segments, each the latencies of the requests scheduled in it
    after its first SETTLE_SECONDS."""
    starts = [at for at, _ in switches]
    segments: dict[int, list[float]] = {}
    for scheduled, latency in samples:
        i = bisect.bisect_right(starts, scheduled) - 1
        if i < 0 or scheduled - starts[i] < SETTLE_SECONDS:
            continue
        segments.setdefault(i, []).append(latency)
    out: dict[bool, list[list[float]]] = {False: [], True: []}
    for i, latencies in sorted(segments.items()):
        out[switches[i][1]].append(latencies)
    return out


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _added(a: list[list[float]], b: list[list[float]], q: float) -> float:
    base = _quantile([x for seg in a for x in seg], q)
    return 100 * (_quantile([x for seg in b for x in seg], q) - base) / base


def compare(a: list[list[float]], b: list[list[float]], *, seed: int) -> dict[str, Any]:
    """What B adds to A at p50 and p99 (%), each with its bootstrap interval over
    segments; and the same of the A segments split odd against even (the noise)."""
    rng = random.Random(seed)
    out: dict[str, Any] = {
        "segments": {"A": len(a), "B": len(b)},
        "requests": {"A": sum(map(len, a)), "B": sum(map(len, b))},
    }
    if not a or not b:
        return out
    tail = (1 - CONFIDENCE) / 2
    for name, q in (("p50", 0.50), ("p99", 0.99)):
        draws = sorted(
            _added([rng.choice(a) for _ in a], [rng.choice(b) for _ in b], q)
            for _ in range(BOOTSTRAP_SAMPLES)
        )
        out[name] = {
            "A_ms": round(1000 * _quantile([x for seg in a for x in seg], q), 2),
            "B_ms": round(1000 * _quantile([x for seg in b for x in seg], q), 2),
            "added_percent": round(_added(a, b, q), 1),
            "interval_percent": [
                round(draws[int(tail * len(draws))], 1),
                round(draws[int((1 - tail) * len(draws)) - 1], 1),
            ],
            "a_against_a_percent": round(_added(a[0::2], a[1::2], q), 1) if len(a) > 1 else None,
        }
    return out


async def switchback(bench: Bench) -> None:
    s = bench.sizes
    n_rounds = rounds(bench)
    book_s, repay_s = load_seconds(bench)
    closed = Load("closed loop", s.seat_attempts, repayment_count(bench))
    bench.log(
        f"events-switchback: {CALIBRATION_PASSES} closed-loop passes without subscriptions, "
        f"then {n_rounds} rounds at {SHARE:.0%} of their throughput with one subscription "
        f"switched on and off every {SEGMENT_SECONDS:g} s"
    )
    places = await subdistricts(bench, SEAT_PROVINCE)
    course = await new_course(bench)
    loans = await active_loans(bench)
    receiver = Receiver()
    worker = start_worker(bench)
    hook: dict[str, Any] | None = None
    try:
        plan = Plan(course["id"], loans, places, receiver, worker.pid)
        given = os.environ.get("OTOG_BENCH_SWITCHBACK_RATES")
        calibration: list[dict[str, Any]] = []
        if given:
            # The same offered load for runs to be compared (bookings,repayments a second).
            book_rate, repay_rate = (float(x) for x in given.split(","))
            rates = (book_rate, repay_rate)
        else:
            calibration = [
                await run_pass(bench, plan, closed, i, False) for i in range(CALIBRATION_PASSES)
            ]
            rates = (
                SHARE * statistics.median(p["booking"]["throughput_rps"] for p in calibration),
                SHARE * statistics.median(p["repayment"]["throughput_rps"] for p in calibration),
            )
        hook = await subscribe(bench, receiver)
        await receiver.refresh()
        arrived_before = len(receiver.arrivals)
        samples: dict[str, list[tuple[float, float]]] = {"booking": [], "repayment": []}
        switches: list[tuple[float, bool]] = []
        seconds = {False: 0.0, True: 0.0}
        cpu: dict[bool, dict[str, float]] = {False: {}, True: {}}
        statements: dict[bool, dict[tuple[str, str], list[float]]] = {False: {}, True: {}}
        for r in range(n_rounds):
            if worker.poll() is not None:
                raise RuntimeError("the webhook worker exited; see webhooks.log")
            session_id = await new_session(bench, plan.course_id)
            bookings = booking_requests(
                session_id, await plan.workers(bench, max(1, round(rates[0] * book_s)))
            )
            repayments = repayment_requests(bench, plan, max(1, round(rates[1] * repay_s)))
            groups = await CpuGroups.start(bench, worker=worker.pid, receiver=receiver.pid)
            switcher = Switcher(bench, hook["id"], groups)
            stop = asyncio.Event()
            # Each round starts in the other state, so neither always has the first
            # segment; the first switch is made before the first request is scheduled.
            await switcher.switch(r % 2 == 1)
            toggling = asyncio.create_task(switcher.run(stop))
            try:
                label = f"round {r + 1}, switched every {SEGMENT_SECONDS:g} s"
                for name, requests, rate, note in (
                    ("booking", bookings, rates[0], BOOKING_NOTE),
                    ("repayment", repayments, rates[1], REPAY_NOTE),
                ):
                    await open_loop(
                        bench,
                        f"{'book a seat' if name == 'booking' else 'repay'}, {label}",
                        requests,
                        rate=rate,
                        max_connections=s.concurrency,
                        on_response=lambda *_: None,
                        note=note + "; the subscription switched on and off",
                        samples=samples[name],
                        scenario=SCENARIO,
                    )
            finally:
                stop.set()
                await toggling
            switches += switcher.switches
            for state in (False, True):
                for key, (calls, ms) in switcher.statements[state].items():
                    acc = statements[state].setdefault(key, [0.0, 0.0])
                    acc[0] += calls
                    acc[1] += ms
            for state in (False, True):
                seconds[state] += switcher.seconds[state]
                for k, v in switcher.cpu_seconds[state].items():
                    cpu[state][k] = cpu[state].get(k, 0.0) + v
        await asyncio.sleep(1.0)
        await receiver.refresh()
        delivered = len(receiver.arrivals) - arrived_before
    finally:
        if hook is not None:
            await bench.call("DELETE", f"/v1/webhooks/{hook['id']}", expect=(204,))
        stop_group(worker.pid)
        receiver.close()
    results: dict[str, Any] = {}
    for seed, (name, got) in enumerate(samples.items()):
        segments = by_segment(got, switches)
        results[name] = compare(segments[False], segments[True], seed=seed)
    cores = {
        "A" if not state else "B": {
            k: round(v / max(seconds[state], 1e-9), 3) for k, v in sorted(cpu[state].items())
        }
        for state in (False, True)
    }
    booking = results["booking"].get("p50", {})
    per_state: dict[str, Any] = {}
    for state in (False, True):
        secs = max(seconds[state], 1e-9)
        mine = statements[state]
        databases = sorted({db for db, _ in mine})
        top = sorted(mine.items(), key=lambda kv: kv[1][1], reverse=True)[:STATEMENTS_SHOWN]
        per_state["B" if state else "A"] = {
            "per_database_per_second": {
                db: {
                    "calls": round(sum(v[0] for (d, _), v in mine.items() if d == db) / secs, 1),
                    "exec_ms": round(sum(v[1] for (d, _), v in mine.items() if d == db) / secs, 2),
                }
                for db in databases
            },
            "top_per_second": [
                {
                    "database": db,
                    "calls": round(v[0] / secs, 1),
                    "exec_ms": round(v[1] / secs, 2),
                    "query": " ".join(q.split())[:160],
                }
                for (db, q), v in top
            ],
        }
    data: dict[str, Any] = {
        "kind": "events_switchback",
        "offered_rps": [round(x, 1) for x in rates],
        "calibration_rps": [
            [p["booking"]["throughput_rps"], p["repayment"]["throughput_rps"]] for p in calibration
        ],
        "rounds": n_rounds,
        "segment_seconds": SEGMENT_SECONDS,
        "settle_seconds": SETTLE_SECONDS,
        "seconds_per_state": {"A": round(seconds[False], 1), "B": round(seconds[True], 1)},
        "results": results,
        "cpu_cores_per_state": cores,
        # pg_stat_statements read at every switch: what each state ran, a second.
        "statements_per_state": per_state,
        "delivered_while_on": delivered,
        "goal_added_percent": GOAL_ADDED_PERCENT,
        "note": "A: the subscription off, B: on, switching every "
        f"{SEGMENT_SECONDS:g} s through one open-loop load at {SHARE:.0%} of the "
        "saturating throughput; requests in the first "
        f"{SETTLE_SECONDS:g} s of a segment left out. Added % of all B requests against "
        f"all A requests, with a {CONFIDENCE:.0%} bootstrap interval over segments; "
        "a_against_a: the A segments odd against even.",
    }
    bench.record(SCENARIO, "what a subscription adds, switched on and off", data)
    bench.check(SCENARIO, "deliveries arrived while switched on", delivered > 0, delivered)
    bench.log(
        f"  events-switchback: booking p50 {booking.get('added_percent')}% "
        f"(interval {booking.get('interval_percent')}, A against A "
        f"{booking.get('a_against_a_percent')}%); repayment p50 "
        f"{results['repayment'].get('p50', {}).get('added_percent')}%; "
        f"{delivered} events delivered while on"
    )
