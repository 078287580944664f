# ruff: noqa: S311
"""The four scenarios of the benchmark."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import sql
from bench.data import national_id, worker_csv_chunks
from bench.harness import Bench, Step
from bench.loadgen import Request, Response, json_body, request_one

SEAT_PROVINCE = "55"  # Nan, one of the programme's training areas
SEAT_PREFIX = 1  # national-ID prefix of the seat-rush workers
REGISTRY_PREFIX = 3  # and of the national-scale import
THB = 100


async def subdistricts(bench: Bench, province: str | None = None) -> list[str]:
    query = "SELECT code FROM geo.subdistricts"
    args: list[Any] = []
    if province:
        query += " WHERE province_code = $1"
        args.append(province)
    return [r[0] for r in await bench.sql("registry", query + " ORDER BY code", *args)]


async def import_workers(
    bench: Bench, start: int, count: int, places: list[str], *, prefix: int
) -> dict[str, Any]:
    """POST /v1/workers/import through the gateway, in files of at most
    ``import_chunk_rows`` rows (the gateway takes bodies up to 512 MB). The files
    are generated before each upload; ``seconds`` counts the uploads only."""
    totals: dict[str, Any] = {"rows": 0, "created": 0, "duplicates": 0, "rejected_count": 0}
    per_file = bench.sizes.import_chunk_rows
    done = 0
    seconds = 0.0
    while done < count:
        n = min(per_file, count - done)
        body = b"".join(worker_csv_chunks(start + done, n, places, prefix=prefix))
        headers = {"Content-Type": "text/csv; charset=utf-8", **(await bench.auth())}
        resp = await request_one(
            bench.stack.gateway_url, Request("POST", "/v1/workers/import", body, headers)
        )
        if resp.status != 200:
            raise RuntimeError(f"import → {resp.status}: {resp.body[:500]!r}")
        seconds += resp.latency
        report = json.loads(resp.body)
        for key in ("rows", "created", "duplicates", "rejected_count"):
            totals[key] += int(report.get(key, 0))
        done += n
    totals["seconds"] = seconds
    return totals


async def worker_ids(bench: Bench, start: int, count: int, *, prefix: int) -> list[str]:
    """Ids of imported workers, found as the registry finds them: by keyed hash."""
    protector = registry_protector(bench)
    ids: list[str] = []
    batch = 5_000
    for off in range(start, start + count, batch):
        hmacs = [
            protector.lookup_hash(national_id(n, prefix=prefix))
            for n in range(off, min(off + batch, start + count))
        ]
        rows = await bench.sql(
            "registry", "SELECT id FROM workers WHERE national_id_hmac = ANY($1::bytea[])", hmacs
        )
        ids += [str(r[0]) for r in rows]
    return ids


def registry_protector(bench: Bench) -> Any:
    from otog_registry.pii.crypto import NationalIdProtector, PiiKeys
    from otog_registry.settings import RegistrySettings

    settings = RegistrySettings(data_dir=bench.stack.layout.data)
    return NationalIdProtector(PiiKeys.from_settings(settings))


# --- 1. seat rush ------------------------------------------------------------


async def seat_rush(bench: Bench) -> None:
    s = bench.sizes
    bench.log(
        f"seat rush: {s.seat_attempts} bookings by distinct workers, {s.seat_capacity} seats, "
        f"{s.concurrency} connections"
    )
    places = await subdistricts(bench, SEAT_PROVINCE)
    report = await import_workers(bench, 0, s.seat_attempts, places, prefix=SEAT_PREFIX)
    workers = await worker_ids(bench, 0, s.seat_attempts, prefix=SEAT_PREFIX)
    assert len(workers) == s.seat_attempts, (report, len(workers))
    random.Random(1).shuffle(workers)

    course = await new_course(bench)
    starts = (datetime.now(UTC) + timedelta(days=30)).date()

    async def new_session() -> str:
        created = await bench.call(
            "POST",
            "/v1/training-sessions",
            json={
                "course_id": course["id"],
                "province_code": SEAT_PROVINCE,
                "mode": "onsite",
                "starts_on": starts.isoformat(),
                "ends_on": (starts + timedelta(days=1)).isoformat(),
                "venue": "Nan Provincial Skill Development Office",
                "capacity": s.seat_capacity,
                "minimum": min(100, s.seat_capacity),
            },
        )
        return str(created["id"])

    # Today's design, then the new one, each on a fresh session of the same
    # capacity booked by the same workers in the same order.
    for design in DESIGNS:
        await bench.restart(
            "training", {BOOKING_BATCHING: design.flag, LOOKUPS_COALESCED: design.flag}
        )
        session_id = await new_session()
        requests = [
            Request(
                "POST",
                f"/v1/training-sessions/{session_id}/enrollments",
                json_body({"worker_id": w}),
                {"Content-Type": "application/json"},
            )
            for w in workers
        ]
        step = await bench.measure(
            "seat_rush",
            f"book a seat — {design.name}",
            requests,
            concurrency=s.concurrency,
            expected=[201],
            note="POST /v1/training-sessions/{id}/enrollments; each booking also asks the "
            "registry about its worker first (today: GET /v1/workers/{id} each; new: "
            "GET /v1/workers?id=… shared by the bookings that queued meanwhile); "
            f"{BOOKING_BATCHING}={design.flag}, {LOOKUPS_COALESCED}={design.flag}",
            profile="training",
        )
        step.data["design"] = design.key
        scenario = "seat_rush" if design.key == "new" else "seat_rush_today"
        await check_session(bench, scenario, session_id, s.seat_attempts, s.seat_capacity)
        batch = await booking_transactions(bench, session_id)
        step.data["bookings_per_transaction"] = batch
        bench.log(
            f"  seat_rush/{design.name}: {batch['rows']} bookings in {batch['transactions']} "
            f"transactions, {batch['mean']} per transaction"
        )

        # The database limit: the design's booking transaction against another,
        # identical session.
        pg_session = await new_session()
        if design.key == "today":
            await bench.pgbench(
                step,
                "otog_training",
                sql.booking(),
                clients=s.concurrency,
                transactions=s.seat_attempts,
                variables={"session_id": pg_session},
            )
            booked = step.data["pgbench"]["transactions"]
        else:
            booked = await pgbench_batched_booking(
                bench, step, pg_session, max(1, round(batch["mean"]))
            )
            if booked is None:
                continue
        await check_session(bench, scenario + "_pgbench", pg_session, booked, s.seat_capacity)


@dataclass(frozen=True)
class Design:
    key: str
    name: str
    flag: str


# The services' settings that switch between today's design and the new one.
BOOKING_BATCHING = "TRAINING_BOOKING_BATCHING"
LOOKUPS_COALESCED = "TRAINING_REGISTRY_LOOKUPS_COALESCED"
FUND_CHANGES = "LOANS_FUND_CHANGES"
DESIGNS = (
    Design("today", "today's design", "false"),
    Design("new", "new design", "true"),
)


async def booking_transactions(bench: Bench, session_id: str) -> dict[str, Any]:
    """How many transactions wrote the session's enrolments: rows written by one
    transaction (or by one savepoint in it) share its id (``xmin``), whatever
    statements the service used. No cancellation runs during the rush, so no row
    was rewritten by a later transaction."""
    row = (
        await bench.sql(
            "training",
            "SELECT count(*), count(DISTINCT xmin::text) FROM enrollments WHERE session_id = $1",
            uuid.UUID(session_id),
        )
    )[0]
    rows, transactions = int(row[0]), int(row[1])
    return {
        "rows": rows,
        "transactions": transactions,
        "mean": round(rows / transactions, 2) if transactions else 0.0,
    }


async def pgbench_batched_booking(
    bench: Bench, step: Step, session_id: str, size: int
) -> int | None:
    """pgbench of the new design's transaction, ``size`` bookings each (the mean
    batch the service achieved), with as many bookings in flight as the HTTP run
    had: concurrency / size clients. Returns the bookings made."""
    s = bench.sizes
    script = sql.booking_batch
    clients = max(1, round(s.concurrency / size))
    await bench.pgbench(
        step,
        "otog_training",
        script(size),
        clients=clients,
        transactions=max(clients, s.seat_attempts // size),
        variables={"session_id": session_id},
    )
    pg = step.data["pgbench"]
    pg["bookings_per_transaction"] = size
    pg["bookings_per_second"] = round(pg["tps"] * size, 1)
    step.data["api_to_pgbench"] = (
        round(step.data["throughput_rps"] / pg["bookings_per_second"], 3)
        if pg["bookings_per_second"]
        else None
    )
    return int(pg["transactions"]) * size


async def check_session(
    bench: Bench, scenario: str, session_id: str, attempts: int, capacity: int
) -> None:
    rows = await bench.sql(
        "training",
        """
        SELECT status, count(*), min(waitlist_position), max(waitlist_position),
               count(DISTINCT waitlist_position), count(DISTINCT worker_id)
        FROM enrollments WHERE session_id = $1 GROUP BY status
        """,
        uuid.UUID(session_id),
    )
    by = {r[0]: r for r in rows}
    confirmed = by["confirmed"][1] if "confirmed" in by else 0
    waiting = by.get("waitlisted")
    n_wait = waiting[1] if waiting else 0
    expect_wait = attempts - capacity
    bench.check(scenario, "confirmed equals capacity", confirmed == capacity, confirmed)
    positions_ok = n_wait == expect_wait and (
        expect_wait == 0
        or (
            waiting is not None
            and waiting[2] == 1
            and waiting[3] == n_wait
            and waiting[4] == n_wait
        )
    )
    bench.check(
        scenario,
        f"waitlisted with positions 1..{expect_wait}",
        positions_ok,
        {
            "waitlisted": n_wait,
            "min": waiting[2] if waiting else None,
            "max": waiting[3] if waiting else None,
        },
    )
    counters = await bench.sql(
        "training",
        "SELECT confirmed_count, waitlist_count FROM training_sessions WHERE id = $1",
        uuid.UUID(session_id),
    )
    bench.check(
        scenario,
        "session counters match the rows",
        counters[0][0] == confirmed and counters[0][1] == n_wait,
        dict(counters[0]),
    )


# --- 4. tokens ---------------------------------------------------------------


async def tokens(bench: Bench) -> None:
    s = bench.sizes
    bench.log(f"tokens: {s.token_requests} issuances and verifications")
    await bench.ensure_client()
    form = (
        f"grant_type=client_credentials&client_id={bench.client_id}"
        f"&client_secret={bench.client_secret}"
    ).encode()
    issue = [
        Request(
            "POST",
            "/v1/oauth/token",
            form,
            {"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""},
        )
        for _ in range(s.token_requests)
    ]
    # The token endpoint must not see the bench's bearer token (it authenticates the form).
    step = await bench.measure(
        "tokens",
        "issue a token",
        issue,
        concurrency=min(50, s.concurrency),
        expected=[200],
        note="POST /v1/oauth/token, client credentials (secret hash check, EdDSA signature)",
    )
    await bench.pgbench(
        step,
        "otog_registry",
        sql.TOKEN,
        clients=min(50, s.concurrency),
        transactions=s.token_requests,
        variables={"client_id": bench.client_id},
    )
    verify = [Request("GET", "/v1/clients/me") for _ in range(s.token_requests)]
    await bench.measure(
        "tokens",
        "verify a token (GET /v1/clients/me)",
        verify,
        concurrency=min(50, s.concurrency),
        expected=[200],
        note="an authenticated read: signature and claims checked on every request",
    )
    health = [
        Request("GET", "/v1/health", headers={"Authorization": ""}) for _ in range(s.token_requests)
    ]
    await bench.measure(
        "tokens",
        "no token (GET /v1/health)",
        health,
        concurrency=min(50, s.concurrency),
        expected=[200],
        note="the same path through nginx and the registry without a token: the baseline",
    )
    bench.record("tokens", "in-process cost", in_process_token_costs(bench))


def in_process_token_costs(bench: Bench, n: int = 2000) -> dict[str, Any]:
    """CPU cost of signing and verifying one token in this process, without HTTP."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    claims = {
        "iss": "otog",
        "aud": "otog-api",
        "sub": "otog_bench",
        "scope": "admin",
        "iat": int(time.time()),
        "exp": int(time.time()) + 900,
    }
    t0 = time.process_time()
    tokens = [jwt.encode(claims, key, algorithm="EdDSA") for _ in range(n)]
    t1 = time.process_time()
    public = key.public_key()
    for tok in tokens:
        jwt.decode(tok, public, algorithms=["EdDSA"], audience="otog-api", issuer="otog")
    t2 = time.process_time()
    return {
        "kind": "cpu",
        "sign_us": round((t1 - t0) / n * 1e6, 1),
        "verify_us": round((t2 - t1) / n * 1e6, 1),
        "samples": n,
    }


def response_json(resp: Response) -> Any:
    return json.loads(resp.body) if resp.body else None


# --- 2. loans ------------------------------------------------------------------

PRINCIPAL = 50_000 * THB
REPAYMENT = 100 * THB
OCCUPATIONS = ("textiles_weaving", "food_processing", "handicraft", "herbal_spa", "beekeeping")


def bangkok_today() -> str:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Bangkok")).date().isoformat()


def collect_created(ids: list[str]) -> Callable[[int, int, Request, Response], None]:
    """An ``on_response`` that keeps the id of every object a 201 created."""

    def keep(_i: int, _a: int, _r: Request, resp: Response) -> None:
        if resp.status == 201:
            ids.append(str(response_json(resp)["id"]))

    return keep


async def create_groups(bench: Bench, count: int, places: list[str], *, label: str) -> list[str]:
    rng = random.Random(count)
    ids: list[str] = []

    requests = [
        Request(
            "POST",
            "/v1/groups",
            json_body(
                {
                    "name_th": f"กลุ่มทอผ้าบ้าน {i}",
                    "subdistrict_code": places[rng.randrange(len(places))],
                    "occupation": OCCUPATIONS[i % len(OCCUPATIONS)],
                }
            ),
            {"Content-Type": "application/json"},
        )
        for i in range(count)
    ]
    await bench.measure(
        label,
        "register a group",
        requests,
        concurrency=bench.sizes.concurrency,
        expected=[201],
        on_response=collect_created(ids),
        note="POST /v1/groups (data loading for the scenario, measured on the way)",
    )
    return ids


async def new_course(bench: Bench) -> dict[str, Any]:
    """A course of the seat rush's kind, under a code of its own."""
    created: dict[str, Any] = await bench.call(
        "POST",
        "/v1/courses",
        json={
            "code": "BENCH-" + uuid.uuid4().hex[:6].upper(),
            "title_th": "Social Commerce For Business",
            "title_en": "Social Commerce For Business",
            "provider": "DSD with ETDA",
            "hours": 12,
            "modes": ["onsite", "online"],
        },
    )
    return created


async def new_fund(bench: Bench, name: str) -> dict[str, Any]:
    today = datetime.fromisoformat(bangkok_today()).date()
    fund: dict[str, Any] = await bench.call(
        "POST",
        "/v1/funds",
        json={
            "name": f"{name} {uuid.uuid4().hex[:6]}",
            "funding_source": "Ministry of Labour",
            "budget_satang": bench.sizes.loans_fundable * PRINCIPAL,
            "applications_open_on": (today - timedelta(days=30)).isoformat(),
            "applications_close_on": (today + timedelta(days=30)).isoformat(),
            "min_principal_satang": 50_000 * THB,
            "max_principal_satang": 300_000 * THB,
            "term_months": 24,
        },
    )
    return fund


async def apply_all(bench: Bench, fund_id: str, groups: list[str], *, name: str) -> list[str]:
    ids: list[str] = []

    requests = [
        Request(
            "POST",
            "/v1/loans",
            json_body(
                {
                    "fund_id": fund_id,
                    "group_id": g,
                    "principal_satang": PRINCIPAL,
                    "purpose": "Looms and yarn for a second weaving line",
                }
            ),
            {"Content-Type": "application/json"},
        )
        for g in groups
    ]
    await bench.measure(
        "loans",
        name,
        requests,
        concurrency=bench.sizes.concurrency,
        expected=[201],
        on_response=collect_created(ids),
        note="POST /v1/loans; asks the registry whether the group exists and is eligible",
    )
    return ids


async def loans(bench: Bench) -> None:
    s = bench.sizes
    bench.log(
        f"loans: {s.loans} racing approvals against a fund for {s.loans_fundable}, then "
        f"{s.repayments} repayments ({s.retry_share:.0%} retried); today's design, then the "
        "new one, each on a fund of its own"
    )
    places = await subdistricts(bench)
    groups = await create_groups(bench, s.loans, places, label="loans")
    # A fund lives its whole life under one design: the service is restarted
    # before the fund is opened, not between its approvals and its repayments.
    for index, design in enumerate(DESIGNS):
        await bench.restart("loan-ledger", {FUND_CHANGES: design.flag})
        await loans_in_one_design(bench, design, groups, key_base=index * 10_000_000)


async def loans_in_one_design(
    bench: Bench, design: Design, groups: list[str], *, key_base: int
) -> None:
    s = bench.sizes
    scenario = "loans" if design.key == "new" else "loans_today"
    fund = await new_fund(bench, f"Benchmark fund ({design.name})")
    loan_ids = await apply_all(bench, fund["id"], groups, name=f"apply for a loan — {design.name}")

    approved: list[str] = []

    def on_approve(i: int, _a: int, _r: Request, resp: Response) -> None:
        if resp.status == 200:
            approved.append(loan_ids[i])

    step = await bench.measure(
        "loans",
        f"approve (racing for the budget) — {design.name}",
        [Request("POST", f"/v1/loans/{lid}/approve") for lid in loan_ids],
        concurrency=s.concurrency,
        expected=[200, 409],
        on_response=on_approve,
        note="POST /v1/loans/{id}/approve; 409 budget-exceeded is the expected answer once "
        f"the fund is committed; {FUND_CHANGES}={design.flag}",
    )
    step.data["design"] = design.key
    await check_fund(bench, scenario, fund["id"], len(approved))

    if design.key == "today":
        # pgbench: today's approval transaction on a second fund with its own applications.
        fund_b = await new_fund(bench, "Benchmark fund (pgbench)")
        loans_b = await apply_all(
            bench, fund_b["id"], groups, name="apply for a loan (second fund, for pgbench)"
        )
        await number_loans(bench, loans_b)
        await bench.pgbench(
            step,
            "otog_loan_ledger",
            sql.APPROVE,
            clients=s.concurrency,
            transactions=len(loans_b),
            variables={"fund_id": fund_b["id"], "principal": str(PRINCIPAL)},
        )
        approved_b = await bench.sql_value(
            "loan-ledger",
            "SELECT count(*) FROM loans WHERE fund_id = $1 AND status = 'approved'",
            uuid.UUID(fund_b["id"]),
        )
        await check_fund(bench, scenario + "_pgbench", fund_b["id"], int(approved_b))

    today = bangkok_today()
    await bench.measure(
        "loans",
        f"disburse — {design.name}",
        [
            Request(
                "POST",
                f"/v1/loans/{lid}/disburse",
                json_body({"disbursed_on": today}),
                {"Content-Type": "application/json"},
            )
            for lid in approved
        ],
        concurrency=min(50, s.concurrency),
        expected=[200],
        note="POST /v1/loans/{id}/disburse: ledger entry and the 24-month schedule",
    )

    # Repayments with idempotency keys, some sent twice; the same loans chosen in
    # the same order in both designs (the keys differ: a key belongs to one request).
    rng = random.Random(5)
    requests = []
    for i in range(s.repayments):
        body = json_body({"amount_satang": REPAYMENT, "paid_on": today})
        requests.append(
            Request(
                "POST",
                f"/v1/loans/{approved[rng.randrange(len(approved))]}/repayments",
                body,
                {
                    "Content-Type": "application/json",
                    "Idempotency-Key": str(uuid.UUID(int=key_base + i + 1)),
                },
                repeat=2 if rng.random() < s.retry_share else 1,
            )
        )
    retried = sum(1 for r in requests if r.repeat == 2)
    first_body: dict[int, bytes] = {}
    replays = {"replayed": 0, "same_body": 0, "other": 0}

    def on_repay(i: int, attempt: int, _r: Request, resp: Response) -> None:
        if attempt == 0:
            first_body[i] = resp.body
        elif resp.headers.get("idempotent-replayed") == "true":
            replays["replayed"] += 1
            if resp.body == first_body.get(i):
                replays["same_body"] += 1
        else:
            replays["other"] += 1

    step = await bench.measure(
        "loans",
        f"repay (Idempotency-Key, 10% retried) — {design.name}",
        requests,
        concurrency=s.concurrency,
        expected=[201],
        on_response=on_repay,
        note=f"POST /v1/loans/{{id}}/repayments over {len(approved)} active loans; "
        f"{retried} of the {s.repayments} repayments sent twice; {FUND_CHANGES}={design.flag}",
        profile="loan-ledger",
    )
    step.data["design"] = design.key
    await check_repayments(bench, scenario, fund["id"], s.repayments, retried, replays)

    # pgbench: the design's repayment transaction, on the same fund's loans.
    script = sql.REPAY if design.key == "today" else sql.REPAY_CHANGES
    await number_loans(bench, await active_in(bench, fund["id"]))
    await bench.pgbench(
        step,
        "otog_loan_ledger",
        script,
        clients=s.concurrency,
        transactions=s.repayments,
        variables={
            "fund_id": fund["id"],
            "amount": str(REPAYMENT),
            "paid_on": today,
            "loans": str(len(approved)),
        },
    )
    balanced = await trial_balance(bench, fund["id"])
    bench.check(scenario + "_pgbench", "trial balance balanced", balanced["balanced"], balanced)


async def number_loans(bench: Bench, loan_ids: list[str]) -> None:
    """A numbered list of loans for pgbench to pick from (bench data only)."""
    conn_rows = [(i + 1, uuid.UUID(lid)) for i, lid in enumerate(loan_ids)]
    import asyncpg

    conn = await asyncpg.connect(bench.stack.db_url("loan-ledger"))
    try:
        await conn.execute(
            "DROP TABLE IF EXISTS bench_loans; DROP SEQUENCE IF EXISTS bench_loans_next;"
            "CREATE TABLE bench_loans (n int PRIMARY KEY, loan_id uuid NOT NULL);"
            "CREATE SEQUENCE bench_loans_next"
        )
        await conn.copy_records_to_table("bench_loans", records=conn_rows)
    finally:
        await conn.close()


async def active_in(bench: Bench, fund_id: str) -> list[str]:
    rows = await bench.sql(
        "loan-ledger",
        "SELECT id FROM loans WHERE fund_id = $1 AND status = 'active' ORDER BY id",
        uuid.UUID(fund_id),
    )
    return [str(r[0]) for r in rows]


async def check_fund(bench: Bench, scenario: str, fund_id: str, approved: int) -> None:
    fund = await bench.call("GET", f"/v1/funds/{fund_id}")
    s = bench.sizes
    bench.check(
        scenario,
        f"exactly {s.loans_fundable} approved",
        approved == s.loans_fundable,
        approved,
    )
    bench.check(
        scenario,
        "committed never above budget",
        fund["committed_satang"] <= fund["budget_satang"]
        and fund["committed_satang"] == approved * PRINCIPAL,
        {k: fund[k] for k in ("budget_satang", "committed_satang", "available_satang")},
    )


async def trial_balance(bench: Bench, fund_id: str) -> dict[str, Any]:
    tb = await bench.call("GET", f"/v1/funds/{fund_id}/trial-balance")
    return {
        k: tb.get(k)
        for k in ("balanced", "reconciled", "total_debits_satang", "total_credits_satang")
    }


async def check_repayments(
    bench: Bench,
    scenario: str,
    fund_id: str,
    expected: int,
    retried: int,
    replays: dict[str, int],
) -> None:
    fid = uuid.UUID(fund_id)
    rows = await bench.sql_value(
        "loan-ledger",
        "SELECT count(*) FROM repayments r JOIN loans l ON l.id = r.loan_id WHERE l.fund_id = $1",
        fid,
    )
    bench.check(scenario, f"{expected} repayments stored, none twice", rows == expected, rows)
    fund = await bench.call("GET", f"/v1/funds/{fund_id}")
    bench.check(
        scenario,
        "repaid total equals the repayments",
        fund["repaid_satang"] == expected * REPAYMENT,
        fund["repaid_satang"],
    )
    bench.check(
        scenario,
        f"{retried} retries replayed the first response",
        replays["replayed"] == retried and replays["same_body"] == retried,
        replays,
    )
    tb = await trial_balance(bench, fund_id)
    bench.check(scenario, "trial balance balanced", bool(tb["balanced"]), tb)


# --- 3. registry at national scale ---------------------------------------------------


async def registry(bench: Bench) -> None:
    from bench import procs

    s = bench.sizes
    bench.log(
        f"registry: import {s.import_workers:,} workers, {s.groups:,} groups, "
        f"{s.lookups:,} searches and listings"
    )
    places = await subdistricts(bench)
    bench.stack.check_alive()
    watch = procs.Watch.start(bench.stack.service_pids())
    report = await import_workers(bench, 0, s.import_workers, places, prefix=REGISTRY_PREFIX)
    seconds = report.pop("seconds")
    usage = watch.finish()
    bench.record(
        "registry",
        "bulk import (CSV)",
        {
            "kind": "import",
            "rows": s.import_workers,
            "seconds": round(seconds, 1),
            "rows_per_second": round(s.import_workers / seconds),
            "files": -(-s.import_workers // s.import_chunk_rows),
            "report": report,
            **usage,
        },
    )
    bench.log(f"  registry/import: {s.import_workers / seconds:,.0f} rows/s ({seconds:.1f} s)")
    bench.check(
        "registry",
        "every imported row created",
        report["created"] == s.import_workers and report["rejected_count"] == 0,
        report,
    )

    await create_groups(bench, min(s.groups, s.groups_via_api), places, label="registry")
    await copy_groups(bench, s.groups - s.groups_via_api)
    total = await bench.sql_value("registry", "SELECT count(*) FROM workers")

    rng = random.Random(11)
    picks = [rng.randrange(s.import_workers) for _ in range(s.lookups)]
    search = [
        Request(
            "POST",
            "/v1/workers/search",
            json_body({"national_id": national_id(n, prefix=REGISTRY_PREFIX)}),
            {"Content-Type": "application/json"},
        )
        for n in picks
    ]
    step = await bench.measure(
        "registry",
        f"search by national ID ({total:,} workers)",
        search,
        concurrency=s.concurrency,
        expected=[200],
        note="POST /v1/workers/search: keyed hash, unique index, decrypt to mask",
    )
    # The latency of the same lookup without queueing: a handful of connections.
    await bench.measure(
        "registry",
        "search by national ID, 4 connections",
        search[: max(20, s.lookups // 5)],
        concurrency=4,
        expected=[200],
        note="the same searches with little concurrency: the path's own latency",
    )
    protector = registry_protector(bench)
    import asyncpg

    conn = await asyncpg.connect(bench.stack.db_url("registry"))
    try:
        await conn.execute(
            "DROP TABLE IF EXISTS bench_nid; CREATE TABLE bench_nid (n int PRIMARY KEY, h bytea);"
            "DROP TABLE IF EXISTS bench_provinces;"
            "CREATE TABLE bench_provinces AS "
            "SELECT row_number() OVER (ORDER BY code)::int AS n, code FROM geo.provinces;"
            "ALTER TABLE bench_provinces ADD PRIMARY KEY (n)"
        )
        await conn.copy_records_to_table(
            "bench_nid",
            records=[
                (i + 1, protector.lookup_hash(national_id(n, prefix=REGISTRY_PREFIX)))
                for i, n in enumerate(picks)
            ],
        )
        provinces = await conn.fetchval("SELECT count(*) FROM bench_provinces")
        codes = [r[0] for r in await conn.fetch("SELECT code FROM geo.provinces ORDER BY code")]
    finally:
        await conn.close()
    await bench.pgbench(
        step,
        "otog_registry",
        sql.SEARCH,
        clients=s.concurrency,
        transactions=s.lookups,
        variables={"count": str(len(picks))},
    )

    groups_total = await bench.sql_value("registry", "SELECT count(*) FROM groups")
    listing = [
        Request("GET", f"/v1/groups?province={codes[rng.randrange(len(codes))]}")
        for _ in range(s.lookups)
    ]
    step = await bench.measure(
        "registry",
        f"list groups by province ({groups_total:,} groups)",
        listing,
        concurrency=s.concurrency,
        expected=[200],
        note="GET /v1/groups?province=XX, first page of 50",
    )
    await bench.pgbench(
        step,
        "otog_registry",
        sql.GROUPS_BY_PROVINCE,
        clients=s.concurrency,
        transactions=s.lookups,
        variables={"provinces": str(provinces)},
    )


async def copy_groups(bench: Bench, count: int) -> None:
    """More groups for the listings, written with SQL as ``POST /v1/groups`` writes
    them (a group and its registration stage change), spread over every subdistrict."""
    if count <= 0:
        return
    t0 = time.perf_counter()
    await bench.sql(
        "registry",
        """
        WITH places AS (
            SELECT code, district_code, province_code,
                   row_number() OVER (ORDER BY code) - 1 AS i, count(*) OVER () AS n
            FROM geo.subdistricts
        ), made AS (
            INSERT INTO groups (id, name_th, occupation, subdistrict_code, district_code,
                                province_code, status, version, created_by)
            SELECT gen_random_uuid(), 'กลุ่มอาชีพ ' || g, ($2::text[])[1 + g % 5],
                   p.code, p.district_code, p.province_code, 'registered', 1, 'benchmark'
            FROM generate_series(1, $1) AS g
            JOIN places p ON p.i = (g * 7919) % p.n
            RETURNING id
        )
        INSERT INTO stage_changes (id, group_id, from_stage, to_stage, fiscal_year, actor)
        SELECT gen_random_uuid(), id, NULL, 'registered', 2568, 'benchmark' FROM made
        """,
        count,
        list(OCCUPATIONS),
    )
    await bench.sql("registry", "ANALYZE groups")
    bench.log(f"  registry: {count:,} more groups copied in ({time.perf_counter() - t0:.1f} s)")
