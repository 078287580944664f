"""Races, through several real service processes on one committing database.

The loan ledger runs as three uvicorn worker processes; requests are fired at
once with asyncio.gather. Whatever the interleaving, the budget holds (also while
top-ups raise it), a loan takes exactly one of several conflicting transitions,
repayments of one loan take turns, a repayment or a top-up retried with one key
is posted once, and no row is locked while the registry is asked about a group.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from otog_devstack.postgres import plain_url
from otog_devstack.processes import ServiceProcess
from otog_shared.etag import etag_for

from tests.loans.conftest import THB, Auth, Groups, fund_body
from tests.support.stack import Databases, truncate_all

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def loans_processes(service_processes: Callable[..., ServiceProcess]) -> ServiceProcess:
    return service_processes("loan-ledger", workers=3)


@pytest_asyncio.fixture
async def api(
    loans_processes: ServiceProcess, databases: Databases
) -> AsyncIterator[httpx.AsyncClient]:
    await truncate_all(databases.live_urls["loan-ledger"])
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=300)
    async with httpx.AsyncClient(
        base_url=loans_processes.base_url, timeout=60, limits=limits
    ) as client:
        yield client


async def gather_limited(n: int, coros: list[Any]) -> list[Any]:
    semaphore = asyncio.Semaphore(n)

    async def run(coro: Any) -> Any:
        async with semaphore:
            return await coro

    return await asyncio.gather(*(run(c) for c in coros))


async def make_fund(api: httpx.AsyncClient, auth: Auth, **overrides: Any) -> dict[str, Any]:
    r = await api.post("/v1/funds", json=fund_body(**overrides), headers=auth.officer())
    assert r.status_code == 201, r.text
    return dict(r.json())


async def apply(
    api: httpx.AsyncClient, auth: Auth, fund: dict[str, Any], group: dict[str, Any]
) -> dict[str, Any]:
    r = await api.post(
        "/v1/loans",
        json={
            "fund_id": fund["id"],
            "group_id": group["id"],
            "principal_satang": 300_000 * THB,
            "purpose": "Working capital",
        },
        headers=auth.officer(),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def checked_trial_balance(api: httpx.AsyncClient, auth: Auth, fund_id: str) -> None:
    r = await api.get(f"/v1/funds/{fund_id}/trial-balance", headers=auth.reader())
    tb = r.json()
    assert tb["balanced"] and tb["reconciled"], tb
    assert tb["total_debits_satang"] == tb["total_credits_satang"]


async def test_concurrent_approvals_never_exceed_the_budget(
    api: httpx.AsyncClient, auth: Auth, groups: Groups
) -> None:
    fund = await make_fund(api, auth, budget_satang=5_000_000 * THB)
    new_groups = await gather_limited(8, [groups.create() for _ in range(100)])
    loans = await gather_limited(16, [apply(api, auth, fund, g) for g in new_groups])

    headers = auth.officer()
    responses = await asyncio.gather(
        *(api.post(f"/v1/loans/{loan['id']}/approve", headers=headers) for loan in loans)
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 16, 409: 84}, statuses
    for r in responses:
        if r.status_code == 409:
            assert r.json()["type"] == "/problems/budget-exceeded"
            assert r.json()["available_satang"] < 300_000 * THB

    figures = (await api.get(f"/v1/funds/{fund['id']}", headers=auth.reader())).json()
    assert figures["committed_satang"] == 4_800_000 * THB
    assert figures["available_satang"] == 200_000 * THB
    await checked_trial_balance(api, auth, fund["id"])
    ledger = await api.get(
        f"/v1/funds/{fund['id']}/ledger",
        params={"kind": "reservation", "limit": 200},
        headers=auth.reader(),
    )
    assert len(ledger.json()["items"]) == 16
    approved = await api.get(
        "/v1/loans",
        params={"fund_id": fund["id"], "status": "approved", "limit": 200},
        headers=auth.reader(),
    )
    assert len(approved.json()["items"]) == 16


async def race(
    api: httpx.AsyncClient, auth: Auth, loan_id: str, actions: list[str]
) -> Counter[str]:
    bodies: dict[str, dict[str, str] | None] = {"disburse": {"disbursed_on": "2025-01-15"}}
    headers = auth.officer()
    responses = await asyncio.gather(
        *(
            api.post(f"/v1/loans/{loan_id}/{action}", json=bodies.get(action), headers=headers)
            for action in actions
        )
    )
    wins: Counter[str] = Counter()
    for action, r in zip(actions, responses, strict=True):
        if r.status_code == 200:
            wins[action] += 1
        else:
            assert r.status_code == 409, r.text
            assert r.json()["type"] == "/problems/invalid-loan-transition"
    return wins


async def test_racing_transitions_on_one_loan_have_one_winner(
    api: httpx.AsyncClient, auth: Auth, groups: Groups
) -> None:
    fund = await make_fund(api, auth)

    # An approved loan: withdraw and disburse are both legal, only one happens.
    loan = await apply(api, auth, fund, await groups.create())
    assert (
        await api.post(f"/v1/loans/{loan['id']}/approve", headers=auth.officer())
    ).status_code == 200
    wins = await race(api, auth, loan["id"], ["approve", "withdraw", "disburse"] * 8)
    assert sum(wins.values()) == 1, wins
    [winner] = wins
    final = (await api.get(f"/v1/loans/{loan['id']}", headers=auth.reader())).json()
    figures = (await api.get(f"/v1/funds/{fund['id']}", headers=auth.reader())).json()
    assert figures["committed_satang"] == 0
    if winner == "disburse":
        assert final["status"] == "active"
        assert figures["disbursed_satang"] == 300_000 * THB
        schedule = (await api.get(f"/v1/loans/{loan['id']}/schedule", headers=auth.reader())).json()
        assert len(schedule["installments"]) == 24
    else:
        assert final["status"] == "withdrawn"
        assert figures["disbursed_satang"] == 0
    await checked_trial_balance(api, auth, fund["id"])

    # A submitted loan: approve and reject are both legal, only one happens.
    loan = await apply(api, auth, fund, await groups.create())
    wins = await race(api, auth, loan["id"], ["approve", "reject"] * 10)
    assert sum(wins.values()) == 1, wins
    history = (await api.get(f"/v1/loans/{loan['id']}/history", headers=auth.reader())).json()
    assert len(history["changes"]) == 2
    await checked_trial_balance(api, auth, fund["id"])


async def disbursed_loan(
    api: httpx.AsyncClient, auth: Auth, groups: Groups
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new fund and a loan of it, approved and disbursed on 15 January 2025."""
    fund = await make_fund(api, auth)
    loan = await apply(api, auth, fund, await groups.create())
    officer = auth.officer()
    assert (await api.post(f"/v1/loans/{loan['id']}/approve", headers=officer)).status_code == 200
    r = await api.post(
        f"/v1/loans/{loan['id']}/disburse", json={"disbursed_on": "2025-01-15"}, headers=officer
    )
    assert r.status_code == 200
    return fund, loan


async def test_racing_retries_of_one_repayment_are_posted_once(
    api: httpx.AsyncClient, auth: Auth, groups: Groups
) -> None:
    fund, loan = await disbursed_loan(api, auth, groups)
    officer = auth.officer()

    key = str(uuid.uuid4())
    body = {"amount_satang": 12_500 * THB, "paid_on": "2025-02-15"}
    headers = {**officer, "Idempotency-Key": key}
    responses = await asyncio.gather(
        *(
            api.post(f"/v1/loans/{loan['id']}/repayments", json=body, headers=headers)
            for _ in range(25)
        )
    )
    created = [r for r in responses if r.status_code == 201]
    originals = [r for r in created if "idempotent-replayed" not in r.headers]
    assert len(originals) == 1
    assert all(r.content == originals[0].content for r in created)
    for r in responses:
        if r.status_code != 201:
            assert r.status_code == 409, r.text
            assert r.json()["type"] == "/problems/idempotency-key-in-flight"
            assert r.headers["retry-after"] == "1"

    late = await api.post(f"/v1/loans/{loan['id']}/repayments", json=body, headers=headers)
    assert late.status_code == 201 and late.content == originals[0].content
    assert late.headers["idempotent-replayed"] == "true"

    got = (await api.get(f"/v1/loans/{loan['id']}", headers=auth.reader())).json()
    assert got["paid_satang"] == 12_500 * THB
    repayments = (await api.get(f"/v1/loans/{loan['id']}/repayments", headers=auth.reader())).json()
    assert len(repayments["items"]) == 1
    entries = await api.get(
        f"/v1/funds/{fund['id']}/ledger", params={"kind": "repayment"}, headers=auth.reader()
    )
    assert len(entries.json()["items"]) == 1
    figures = (await api.get(f"/v1/funds/{fund['id']}", headers=auth.reader())).json()
    assert figures["repaid_satang"] == 12_500 * THB
    await checked_trial_balance(api, auth, fund["id"])


async def test_racing_repayments_of_one_loan_take_turns(
    api: httpx.AsyncClient, auth: Auth, groups: Groups, databases: Databases
) -> None:
    """Nine repayments of one loan at once, eight of which pay it off: each is
    measured against the ones before it (its outstanding answer is its own), each
    that leaves the loan open moves its version on once, exactly one closes the
    loan and the one left over finds it closed."""
    fund, loan = await disbursed_loan(api, auth, groups)
    officer = auth.officer()
    ledger_db = await asyncpg.connect(plain_url(databases.live_urls["loan-ledger"]))
    try:
        version = "SELECT version FROM loans WHERE id = $1"
        before = await ledger_db.fetchval(version, uuid.UUID(loan["id"]))

        share = 37_500 * THB  # a 300,000 THB loan in eight shares
        responses = await asyncio.gather(
            *(
                api.post(
                    f"/v1/loans/{loan['id']}/repayments",
                    json={"amount_satang": share, "paid_on": "2025-02-15"},
                    headers=auth.with_key(officer),
                )
                for _ in range(9)
            )
        )
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: 8, 409: 1}, statuses
        posted = [r.json() for r in responses if r.status_code == 201]
        [refused] = [r for r in responses if r.status_code != 201]
        assert refused.json()["type"] == "/problems/loan-not-active", refused.text
        assert sorted(p["loan_outstanding_satang"] for p in posted) == [share * n for n in range(8)]
        assert [p["loan_status"] for p in posted].count("closed") == 1

        # Each of the seven that left the loan open moved its version on once, in its
        # own statement; the closing one twice, through the unit of work (its state
        # with its history, then its ``updated_at``). A read shows the stored one.
        after = await ledger_db.fetchval(version, uuid.UUID(loan["id"]))
        assert after == before + 7 + 2, (before, after)
        got = await api.get(f"/v1/loans/{loan['id']}", headers=auth.reader())
        assert got.json()["status"] == "closed" and got.json()["paid_satang"] == 300_000 * THB
        assert got.headers["etag"] == etag_for("loan", loan["id"], after)
        schedule = (await api.get(f"/v1/loans/{loan['id']}/schedule", headers=auth.reader())).json()
        assert all(i["paid_satang"] == i["principal_satang"] for i in schedule["installments"])
        history = (await api.get(f"/v1/loans/{loan['id']}/history", headers=auth.reader())).json()
        assert [c["action"] for c in history["changes"]].count("close") == 1
    finally:
        await ledger_db.close()
    await checked_trial_balance(api, auth, fund["id"])


async def test_racing_applications_of_one_group_leave_one_open_loan(
    api: httpx.AsyncClient, auth: Auth, groups: Groups
) -> None:
    fund = await make_fund(api, auth)
    group = await groups.create()
    body = {
        "fund_id": fund["id"],
        "group_id": group["id"],
        "principal_satang": 100_000 * THB,
        "purpose": "Working capital",
    }
    responses = await asyncio.gather(
        *(api.post("/v1/loans", json=body, headers=auth.officer()) for _ in range(12))
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 11}, statuses
    assert all(
        r.json()["type"] == "/problems/open-loan-exists" for r in responses if r.status_code == 409
    )


async def test_top_ups_racing_approvals_keep_the_budget_cap_exact(
    api: httpx.AsyncClient, auth: Auth, groups: Groups
) -> None:
    principal = 300_000 * THB
    fund = await make_fund(api, auth, budget_satang=1_000_000 * THB)  # room for 3 loans
    new_groups = await gather_limited(8, [groups.create() for _ in range(30)])
    loans = await gather_limited(16, [apply(api, auth, fund, g) for g in new_groups])

    # Ten top-ups of 150,000 THB, each sent twice at once under one key: 2,500,000 THB
    # in the end, room for 8 loans, however the 30 approvals interleave with them.
    officer = auth.officer()
    top_ups = {
        str(uuid.uuid4()): {"amount_satang": 150_000 * THB, "reason": f"Supplementary {i + 1}"}
        for i in range(10)
    }

    def top_up(key: str) -> Any:
        return api.post(
            f"/v1/funds/{fund['id']}/top-ups",
            json=top_ups[key],
            headers={**officer, "Idempotency-Key": key},
        )

    requests: list[tuple[str, Any]] = [
        ("approve", api.post(f"/v1/loans/{loan['id']}/approve", headers=officer)) for loan in loans
    ]
    requests += [(key, top_up(key)) for key in top_ups for _ in range(2)]
    random.Random(11).shuffle(requests)
    responses = await asyncio.gather(*(coro for _, coro in requests))

    approved_in_race = 0
    top_up_answers: dict[str, list[httpx.Response]] = {key: [] for key in top_ups}
    for (what, _), r in zip(requests, responses, strict=True):
        if what == "approve":
            if r.status_code == 200:
                approved_in_race += 1
            else:
                assert r.status_code == 409, r.text
                assert r.json()["type"] == "/problems/budget-exceeded"
                # Refused only when the budget of that moment could not cover it.
                assert r.json()["available_satang"] < principal
        else:
            top_up_answers[what].append(r)
    assert 3 <= approved_in_race <= 8, approved_in_race

    for key, answers in top_up_answers.items():
        created = [r for r in answers if r.status_code == 201]
        for r in answers:
            if r.status_code != 201:
                assert r.status_code == 409, r.text
                assert r.json()["type"] == "/problems/idempotency-key-in-flight"
        assert created, "the first of two requests with one key always goes through"
        if len(created) == 1:  # the other was told "in flight": its retry replays
            created.append(await top_up(key))
        assert [r.status_code for r in created] == [201, 201]
        assert created[0].content == created[1].content
        assert sum("idempotent-replayed" not in r.headers for r in created) == 1

    figures = (await api.get(f"/v1/funds/{fund['id']}", headers=auth.reader())).json()
    assert figures["budget_satang"] == 2_500_000 * THB
    assert figures["committed_satang"] == approved_in_race * principal
    assert figures["available_satang"] == figures["budget_satang"] - figures["committed_satang"]
    await checked_trial_balance(api, auth, fund["id"])

    # The loans refused while the budget was smaller get their turn now: exactly as
    # many as the final budget covers, 8 in all.
    refused = await api.get(
        "/v1/loans",
        params={"fund_id": fund["id"], "status": "submitted", "limit": 200},
        headers=auth.reader(),
    )
    later = Counter(
        [
            (await api.post(f"/v1/loans/{loan['id']}/approve", headers=officer)).status_code
            for loan in refused.json()["items"]
        ]
    )
    assert (later[200], later[409], later.total()) == (
        8 - approved_in_race,
        22,
        30 - approved_in_race,
    )
    figures = (await api.get(f"/v1/funds/{fund['id']}", headers=auth.reader())).json()
    assert figures["committed_satang"] == 8 * principal
    assert figures["available_satang"] == 100_000 * THB
    await checked_trial_balance(api, auth, fund["id"])

    ledger = await api.get(
        f"/v1/funds/{fund['id']}/ledger",
        params={"kind": "top_up", "limit": 200},
        headers=auth.reader(),
    )
    assert len(ledger.json()["items"]) == 10
    listed = await api.get(
        f"/v1/funds/{fund['id']}/top-ups", params={"limit": 200}, headers=auth.reader()
    )
    assert len(listed.json()["items"]) == 10
    assert sum(t["amount_satang"] for t in listed.json()["items"]) == 1_500_000 * THB


@pytest.mark.parametrize("action", ["approve", "disburse"])
async def test_no_row_is_locked_while_the_registry_is_asked(
    api: httpx.AsyncClient, auth: Auth, groups: Groups, databases: Databases, action: str
) -> None:
    """The registry is held up (its groups table locked) while an approval or a
    disbursement asks about the group; meanwhile the loan's row and the fund's row
    are free, so nothing else waits for the registry."""
    fund = await make_fund(api, auth)
    loan = await apply(api, auth, fund, await groups.create())
    officer = auth.officer()
    if action == "disburse":
        r = await api.post(f"/v1/loans/{loan['id']}/approve", headers=officer)
        assert r.status_code == 200, r.text
    body = {"disbursed_on": "2025-01-15"} if action == "disburse" else None

    registry_db = await asyncpg.connect(plain_url(databases.live_urls["registry"]))
    ledger_db = await asyncpg.connect(plain_url(databases.live_urls["loan-ledger"]))
    try:
        holdup = registry_db.transaction()
        await holdup.start()
        await registry_db.execute("LOCK TABLE groups IN ACCESS EXCLUSIVE MODE")
        request = asyncio.create_task(
            api.post(f"/v1/loans/{loan['id']}/{action}", json=body, headers=officer)
        )
        try:
            for _ in range(80):  # until the registry waits on our lock (at most 4 s)
                waiting = await registry_waiting_on_groups(registry_db)
                if waiting:
                    break
                await asyncio.sleep(0.05)
            assert waiting, "the registry was not asked"
            async with ledger_db.transaction():
                # NOWAIT: an error here would mean the request holds the row.
                await ledger_db.execute(
                    "SELECT 1 FROM loans WHERE id = $1 FOR UPDATE NOWAIT", uuid.UUID(loan["id"])
                )
                await ledger_db.execute(
                    "SELECT 1 FROM funds WHERE id = $1 FOR UPDATE NOWAIT", uuid.UUID(fund["id"])
                )
        finally:
            await holdup.rollback()
            r = await request
        assert r.status_code == 200, r.text
        assert r.json()["status"] == ("approved" if action == "approve" else "active")
    finally:
        await registry_db.close()
        await ledger_db.close()


async def registry_waiting_on_groups(registry_db: asyncpg.Connection) -> int:
    """Backends of the registry's database waiting for a lock on ``groups``."""
    count = await registry_db.fetchval(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
        " WHERE c.relname = 'groups' AND NOT l.granted"
    )
    return int(count)
