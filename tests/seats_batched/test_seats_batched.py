"""Seat bookings coalesced per session (``otog_training.enrollments.batcher``),
through real service processes on one database, side by side with bookings made
one transaction each (``TRAINING_BOOKING_BATCHING=false``): every seat rule holds,
every answer is the request's own and is given back byte for byte on a re-send,
and a batch that fails as a whole leaves the others booked."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from otog_devstack.postgres import free_port, plain_url
from otog_devstack.processes import ServiceProcess

from tests.support.stack import Databases, start_service, truncate_all
from tests.support.tokens import TokenFactory
from tests.training.helpers import (
    create_session,
    create_worker,
    seat_invariants,
)

pytestmark = pytest.mark.e2e

MODES = ("batched", "serial")
# People rushing for seats: a quick rush in the default tier, the full one in the slow.
RUSHES = [
    pytest.param(90, 30, id="90-for-30"),
    pytest.param(300, 50, id="300-for-50", marks=pytest.mark.slow),
]


def _start(
    databases: Databases,
    live_registry: ServiceProcess,
    service_client_env: dict[str, dict[str, str]],
    data_dir: Path,
    log_dir: Path,
    *,
    workers: int,
    batching: bool,
) -> ServiceProcess:
    return start_service(
        "training",
        databases.live_urls["training"],
        port=free_port(),
        data_dir=data_dir,
        log_dir=log_dir,
        registry_url=live_registry.base_url,
        workers=workers,
        extra_env={
            **service_client_env["training"],
            "TRAINING_BOOKING_BATCHING": "true" if batching else "false",
            # The design before batching asked the registry once per booking.
            "TRAINING_REGISTRY_LOOKUPS_COALESCED": "true" if batching else "false",
        },
    )


@pytest.fixture(scope="module")
def processes(
    service_processes: Callable[..., ServiceProcess],
    databases: Databases,
    live_registry: ServiceProcess,
    service_client_env: dict[str, dict[str, str]],
    data_dir: Path,
    log_dir: Path,
) -> Iterator[dict[str, ServiceProcess]]:
    """Three processes booking in batches (the default), two booking one at a time
    (and asking the registry once per booking)."""
    serial = _start(
        databases, live_registry, service_client_env, data_dir, log_dir, workers=2, batching=False
    )
    try:
        yield {"batched": service_processes("training", workers=3), "serial": serial}
    finally:
        serial.stop()
        asyncio.run(truncate_all(databases.live_urls["training"]))


@pytest.fixture(scope="module")
def single_process(
    databases: Databases,
    live_registry: ServiceProcess,
    service_client_env: dict[str, dict[str, str]],
    data_dir: Path,
    log_dir: Path,
) -> Iterator[ServiceProcess]:
    """One batching process: every booking of a session waits in the same queue."""
    proc = _start(
        databases, live_registry, service_client_env, data_dir, log_dir, workers=1, batching=True
    )
    try:
        yield proc
    finally:
        proc.stop()


Workers = Callable[[int], Awaitable[list[str]]]


@pytest_asyncio.fixture(scope="module")
async def workers(live_registry: ServiceProcess, tokens: TokenFactory) -> Workers:
    """``n`` workers in the real registry (made once, as many as a test needs)."""
    made: list[str] = []
    limit = asyncio.Semaphore(16)

    async def at_least(n: int) -> list[str]:
        async with httpx.AsyncClient(base_url=live_registry.base_url, timeout=30) as registry:

            async def one() -> str:
                async with limit:
                    return await create_worker(registry, tokens)

            made.extend(await asyncio.gather(*(one() for _ in range(n - len(made)))))
        return made[:n]

    return at_least


def _client(proc: ServiceProcess) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=350)
    return httpx.AsyncClient(base_url=proc.base_url, timeout=60, limits=limits)


async def new_session(
    client: httpx.AsyncClient, headers: dict[str, str], capacity: int
) -> dict[str, Any]:
    return await create_session(client, headers, capacity=capacity, minimum=min(10, capacity))


def book(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    session_id: str,
    worker_id: str,
    *,
    key: str | None = None,
    enrollment_id: str | None = None,
) -> Any:
    body: dict[str, Any] = {"worker_id": worker_id}
    if enrollment_id is not None:
        body["id"] = enrollment_id
    return client.post(
        f"/v1/training-sessions/{session_id}/enrollments",
        json=body,
        headers={**headers, **({"Idempotency-Key": key} if key else {})},
    )


async def counters(client: httpx.AsyncClient) -> Counter[str]:
    """The bookings and batches counted by every process behind ``client``."""
    text = (await client.get("/metrics")).text
    found: Counter[str] = Counter()
    for name, outcome, value in re.findall(
        r'^otog_training_(bookings_total|booking_batches_total)\{outcome="(\w+)"\} (\S+)$',
        text,
        re.M,
    ):
        found[f"{name}:{outcome}"] += int(float(value))
    for name, labels, value in re.findall(
        r'^otog_coalesced_(lookups_total|calls_total)\{([^}]*lookup="registry_workers"[^}]*)\}'
        r" (\S+)$",
        text,
        re.M,
    ):
        outcome = re.search(r'outcome="(\w+)"', labels)
        found[f"{name}:{outcome.group(1) if outcome else 'all'}"] += int(float(value))
    return found


async def fetch(db_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_url(db_url))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("people", "seats"), RUSHES)
async def test_a_rush_on_one_session(
    mode: str,
    people: int,
    seats: int,
    processes: dict[str, ServiceProcess],
    tokens: TokenFactory,
    workers: Workers,
    databases: Databases,
) -> None:
    """Everyone at once (300 people for 50 seats in the slow tier), one of them six
    times and three people the registry does not know, each with a key and an id of
    their own: the seats taken, the others queued 1..n, one 201 for the eager one, 422
    for the strangers, each answer the sender's own, one event per booking, and every
    answer given back unchanged when sent again."""
    registered_workers = await workers(people)
    headers = tokens.headers("training:read", "training:write")
    db_url = databases.live_urls["training"]
    async with _client(processes[mode]) as client:
        s = await new_session(client, headers, seats)
        before = await counters(client)
        eager = registered_workers[0]
        sent = [(w, str(uuid.uuid4()), str(uuid.uuid4())) for w in registered_workers]
        sent += [(eager, str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(5)]
        sent += [(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(3)]
        random.Random(16).shuffle(sent)
        responses = await asyncio.gather(
            *(book(client, headers, s["id"], w, key=k, enrollment_id=i) for w, k, i in sent)
        )
        after = await counters(client)

        created = [(req, r) for req, r in zip(sent, responses, strict=True) if r.status_code == 201]
        refused = [r for r in responses if r.status_code != 201]
        assert len(created) == people, [r.text for r in refused if r.status_code != 409][:3]
        assert (
            sorted(r.json()["type"] for r in refused)
            == ["/problems/already-enrolled"] * 5 + ["/problems/unknown-worker"] * 3
        )
        assert sum(req[0] == eager for req, _ in created) == 1
        for (worker, _, enrollment_id), r in created:
            body = r.json()
            assert (body["id"], body["worker_id"]) == (enrollment_id, worker)
            assert r.headers["location"] == f"/v1/enrollments/{enrollment_id}"
        bodies = [r.json() for _, r in created]
        assert sum(b["status"] == "confirmed" for b in bodies) == seats
        positions = sorted(b["waitlist_position"] for b in bodies if b["status"] == "waitlisted")
        assert positions == list(range(1, people - seats + 1))

        session = (await client.get(f"/v1/training-sessions/{s['id']}", headers=headers)).json()
        assert (session["confirmed_count"], session["waitlist_count"]) == (seats, people - seats)
        assert session["status"] == "confirmed"
        await seat_invariants(db_url, s["id"])

        # What each answer said is what was stored, and each booking told once.
        stored = {
            str(row["id"]): (row["status"], row["waitlist_position"])
            for row in await fetch(
                db_url,
                "SELECT id, status, waitlist_position FROM enrollments WHERE session_id = $1",
                uuid.UUID(s["id"]),
            )
        }
        assert stored == {b["id"]: (b["status"], b["waitlist_position"]) for b in bodies}
        events = await fetch(
            db_url,
            "SELECT enrollment_id, kind, waitlist_position FROM enrollment_events"
            " WHERE session_id = $1",
            uuid.UUID(s["id"]),
        )
        assert sorted(
            (str(e["enrollment_id"]), e["kind"], e["waitlist_position"]) for e in events
        ) == sorted((b["id"], f"enrollment.{b['status']}", b["waitlist_position"]) for b in bodies)
        published = Counter(
            row["type"]
            for row in await fetch(
                db_url,
                "SELECT type FROM outbox WHERE data->>'session_id' = $1",
                s["id"],
            )
        )
        assert {t: n for t, n in published.items() if t != "session.created"} == {
            "session.confirmed": 1,
            "enrollment.confirmed": seats,
            "enrollment.waitlisted": people - seats,
        }

        # Every booking counted; in batches only when batching, some of them shared.
        booked = sum(
            after[f"bookings_total:{o}"] - before[f"bookings_total:{o}"]
            for o in ("confirmed", "waitlisted")
        )
        assert booked == people
        batches = (
            after["booking_batches_total:committed"] - before["booking_batches_total:committed"]
        )
        # The registry asked about every booking, in shared calls only when batching.
        lookups = after["lookups_total:all"] - before["lookups_total:all"]
        calls = after["calls_total:ok"] - before["calls_total:ok"]
        if mode == "batched":
            assert 0 < batches < people
            # (A re-booking the service already saw enrolled is refused before it asks.)
            assert people + 3 <= lookups <= len(sent)
            assert 0 < calls < lookups
        else:
            assert batches == 0
            assert lookups == calls == 0

        # A lost answer, asked for again: the first one, byte for byte, by key and by id.
        again = await asyncio.gather(
            *(book(client, headers, s["id"], w, key=k, enrollment_id=i) for (w, k, i), _ in created)
        )
        by_id = await asyncio.gather(
            *(book(client, headers, s["id"], w, enrollment_id=i) for (w, _, i), _ in created[:50])
        )
        for (_, first), replay in zip(created, again, strict=True):
            assert replay.status_code == 201
            assert replay.content == first.content
            assert replay.headers["idempotent-replayed"] == "true"
        for (_, first), replay in zip(created, by_id, strict=False):
            assert replay.status_code == 201
            assert replay.content == first.content
            assert replay.headers["location"] == first.headers["location"]
            assert replay.headers["etag"] == first.headers["etag"]
        await seat_invariants(db_url, s["id"])


@pytest.mark.parametrize("mode", MODES)
async def test_bookings_racing_cancellations_and_capacity_changes(
    mode: str,
    processes: dict[str, ServiceProcess],
    tokens: TokenFactory,
    workers: Workers,
    databases: Databases,
) -> None:
    registered_workers = await workers(120)
    headers = tokens.headers("training:read", "training:write")
    seed = random.randrange(1 << 30)
    print(f"seed {seed}")  # replay a failure with this seed
    rng = random.Random(seed)
    async with _client(processes[mode]) as client:
        s = await new_session(client, headers, 20)
        early, late = registered_workers[:60], registered_workers[60:120]
        bodies = [
            r.json()
            for r in await asyncio.gather(*(book(client, headers, s["id"], w) for w in early))
        ]
        confirmed = [b["id"] for b in bodies if b["status"] == "confirmed"]
        waiting = [b["id"] for b in bodies if b["status"] == "waitlisted"]
        assert len(confirmed) == 20 and len(waiting) == 40

        leaving = rng.sample(confirmed, 12) + rng.sample(waiting, 12)
        race = [client.post(f"/v1/enrollments/{i}/cancel", headers=headers) for i in leaving]
        race += [book(client, headers, s["id"], w) for w in late]
        race += [
            client.patch(f"/v1/training-sessions/{s['id']}", json={"capacity": c}, headers=headers)
            for c in rng.sample(range(18, 60), 6)
        ]
        rng.shuffle(race)
        results = await asyncio.gather(*race)
        codes = Counter(r.status_code for r in results)
        assert codes[201] == len(late), [r.text for r in results if r.status_code >= 300][:3]
        assert codes[200] + codes[409] == len(leaving) + 6, codes
        cancels = [r for r in results if r.url.path.endswith("/cancel")]
        assert all(r.status_code == 200 for r in cancels)

        await seat_invariants(databases.live_urls["training"], s["id"])
        after = (await client.get(f"/v1/training-sessions/{s['id']}", headers=headers)).json()
        live = 60 - len(leaving) + len(late)
        assert after["confirmed_count"] + after["waitlist_count"] == live
        assert after["confirmed_count"] == min(after["capacity"], live)


async def test_a_batch_that_fails_leaves_the_others_booked(
    single_process: ServiceProcess,
    tokens: TokenFactory,
    workers: Workers,
    databases: Databases,
) -> None:
    """Twenty bookings queue behind one that waits for the session's lock; one of the
    twenty cannot be written (a trigger refuses its row). Their batch fails as a whole,
    each is booked alone: nineteen seats and queue places, one error."""
    headers = tokens.headers("training:read", "training:write")
    db_url = databases.live_urls["training"]
    registered_workers = await workers(21)
    good, bad = registered_workers[:20], registered_workers[20]
    conn = await asyncpg.connect(plain_url(db_url))
    await conn.execute(
        "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN IF NEW.worker_id = '{bad}' THEN RAISE EXCEPTION 'refused'; END IF;"
        " RETURN NEW; END $$;"
        "CREATE TRIGGER refuse_one BEFORE INSERT ON enrollments"
        " FOR EACH ROW EXECUTE FUNCTION refuse_one()"
    )
    try:
        async with _client(single_process) as client:
            s = await new_session(client, headers, 10)
            before = await counters(client)
            hold = conn.transaction()
            await hold.start()
            await conn.execute(
                "SELECT 1 FROM training_sessions WHERE id = $1 FOR UPDATE", uuid.UUID(s["id"])
            )
            first = asyncio.ensure_future(book(client, headers, s["id"], good[0]))
            for _ in range(200):
                if await lock_waiters(db_url) >= 1:
                    break
                await asyncio.sleep(0.05)
            rest = [asyncio.ensure_future(book(client, headers, s["id"], w)) for w in good[1:]]
            refused = asyncio.ensure_future(book(client, headers, s["id"], bad))
            # Their checks (the registry among them) done, they wait in the queue.
            await asyncio.sleep(1.5)
            await hold.rollback()
            results = await asyncio.gather(first, *rest)
            failed = await refused
            after = await counters(client)
    finally:
        if conn.is_in_transaction():
            await conn.execute("ROLLBACK")
        await conn.execute("DROP TRIGGER refuse_one ON enrollments; DROP FUNCTION refuse_one()")
        await conn.close()

    assert [r.status_code for r in results] == [201] * 20, [r.text for r in results][:3]
    assert failed.status_code >= 500
    assert failed.headers["content-type"].startswith("application/problem+json")
    assert after["booking_batches_total:fallback"] - before["booking_batches_total:fallback"] == 1
    bodies = [r.json() for r in results]
    assert sum(b["status"] == "confirmed" for b in bodies) == 10
    await seat_invariants(db_url, s["id"])


async def lock_waiters(db_url: str) -> int:
    rows = await fetch(
        db_url,
        "SELECT count(*) AS n FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    return int(rows[0]["n"])
