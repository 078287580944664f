"""The partner feed: how long an event takes from its change's commit to ``GET /v1/events``.

Writers create groups (the registry's own outbox, collected by SQL) and training
sessions (training's outbox, collected over HTTP) through the gateway; a reader polls
the feed every 20 ms with its cursor. The delay of an event is from the writer's 201
(its transaction has committed by then) to the poll that first returned it, so it
includes up to one reader poll interval.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import Bench
from bench.scenarios import subdistricts

READER_INTERVAL = 0.02
WRITE_CONCURRENCY = 8
# The contract's goal: p99 from commit to the feed well under a second.
GOAL_P99_MS = 1000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def feed(bench: Bench) -> None:
    count = max(20, min(bench.sizes.token_requests, 2_000))
    bench.log(f"events: {count} changes through the gateway, read back from /v1/events")
    places = (await subdistricts(bench))[:200]
    course = await bench.call(
        "POST",
        "/v1/courses",
        json={
            "code": "BENCH" + uuid.uuid4().hex[:6].upper(),
            "title_th": "หลักสูตรทดสอบ",
            "title_en": "Benchmark course",
            "provider": "DSD",
            "hours": 6,
            "modes": ["onsite"],
        },
    )
    start = await bench.call("GET", "/v1/events", params={"limit": 1})
    cursor = start["next_cursor"]
    # Skip what is already in the feed.
    while True:
        page = await bench.call("GET", "/v1/events", params={"after": cursor, "limit": 500})
        cursor = page["next_cursor"]
        if not page["items"]:
            break

    committed: dict[str, tuple[str, float]] = {}  # subject id → (source, time of the 201)
    seen: dict[str, float] = {}
    writing_done = asyncio.Event()
    starts_on = datetime.now(UTC).date() + timedelta(days=60)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def writer() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            headers = await bench.auth()
            if n % 2 == 0:
                source, path = "registry", "/v1/groups"
                body: dict[str, Any] = {
                    "name_th": f"กลุ่มวัดเวลา {n}",
                    "subdistrict_code": places[n % len(places)],
                    "occupation": "handicraft",
                }
            else:
                source, path = "training", "/v1/training-sessions"
                body = {
                    "course_id": course["id"],
                    "province_code": "10",
                    "mode": "onsite",
                    "starts_on": starts_on.isoformat(),
                    "ends_on": starts_on.isoformat(),
                    "venue": "Bench hall",
                    "capacity": 30,
                    "minimum": 5,
                }
            r = await bench.http.post(path, json=body, headers=headers)
            if r.status_code != 201:
                raise RuntimeError(f"POST {path} → {r.status_code}: {r.text[:300]}")
            committed[str(r.json()["id"])] = (source, time.monotonic())

    async def reader() -> None:
        nonlocal cursor
        while True:
            finished = writing_done.is_set()
            page = await bench.call(
                "GET",
                "/v1/events",
                params={
                    "after": cursor,
                    "limit": 500,
                    "types": "group.created,session.created",
                },
            )
            now = time.monotonic()
            for item in page["items"]:
                seen.setdefault(item["subject"].rsplit("/", 1)[1], now)
            cursor = page["next_cursor"]
            if finished and set(committed) <= set(seen):
                return
            if not page["items"]:
                await asyncio.sleep(READER_INTERVAL)

    began = time.monotonic()
    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer() for _ in range(WRITE_CONCURRENCY)))
    written = time.monotonic() - began
    writing_done.set()
    await asyncio.wait_for(reading, timeout=60)

    delays: dict[str, list[float]] = {"registry": [], "training": []}
    for subject_id, (source, at) in committed.items():
        if subject_id in seen:
            delays[source].append((seen[subject_id] - at) * 1000)
    everything = [d for ds in delays.values() for d in ds]
    data: dict[str, Any] = {
        "kind": "latency",
        "events": len(everything),
        "write_seconds": round(written, 2),
        "writes_per_second": round(len(committed) / written, 1),
        "reader_poll_ms": READER_INTERVAL * 1000,
        # A figure to compare, not a check: the bench reports, it does not time out.
        "goal_p99_ms": GOAL_P99_MS,
    }
    for source, ds in [("all", everything), *delays.items()]:
        data[f"{source}_ms"] = {
            "p50": round(statistics.median(ds), 1),
            "p99": round(_percentile(ds, 0.99), 1),
            "max": round(max(ds), 1),
        }
    bench.record("events", "commit to feed", data)
    bench.log(
        f"  events/commit to feed: p50 {data['all_ms']['p50']} ms, p99 {data['all_ms']['p99']} ms "
        f"(registry p99 {data['registry_ms']['p99']}, training p99 {data['training_ms']['p99']})"
    )
    bench.check(
        "events",
        "every event reached the feed",
        len(everything) == len(committed),
        f"{len(everything)} of {len(committed)}",
    )
