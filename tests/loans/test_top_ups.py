"""Fund top-ups: the budget raised, posted in the ledger, retried safely, refused cleanly."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.loans.conftest import THB, Auth, Flow

MAX_BUDGET = 10_000_000_000_000  # satang: a fund's budget ceiling


def top_up_body(amount: Any = 1_000_000 * THB, reason: Any = "Supplementary budget") -> Any:
    return {"amount_satang": amount, "reason": reason}


async def top_up(
    flow: Flow,
    fund_id: str,
    body: Any,
    key: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await flow.client.post(
        f"/v1/funds/{fund_id}/top-ups",
        json=body,
        headers=flow.auth.with_key(headers or flow.auth.officer(), key),
    )


async def stored(db: AsyncSession, fund_id: str) -> tuple[int, int, int, int]:
    """Budget, version, top-up rows and journal entries of the fund, from the database."""
    row = (
        await db.execute(
            text(
                "SELECT f.budget_satang, f.version,"
                " (SELECT count(*) FROM fund_top_ups t WHERE t.fund_id = f.id),"
                " (SELECT count(*) FROM journal_entries j WHERE j.fund_id = f.id)"
                " FROM funds f WHERE f.id = :f"
            ),
            {"f": uuid.UUID(fund_id)},
        )
    ).one()
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


async def test_a_top_up_raises_the_budget_and_is_posted_in_the_ledger(flow: Flow) -> None:
    fund = await flow.fund(budget_satang=5_000_000 * THB)
    loan = await flow.apply(fund, 300_000 * THB)
    assert (await flow.act(loan, "approve")).status_code == 200

    reason = "งบกลางเพิ่มเติม ปีงบประมาณ 2568 (supplementary central budget)"
    r = await top_up(flow, fund["id"], top_up_body(1_000_000 * THB, f"  {reason} "))
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["location"] == f"/v1/funds/{fund['id']}/top-ups/{created['id']}"
    assert created["fund_id"] == fund["id"]
    assert created["amount_satang"] == 1_000_000 * THB
    assert created["reason"] == reason
    assert created["created_by"] == "officer-national"
    assert created["effective_on"] and created["created_at"]

    figures = await flow.fund_now(fund["id"])
    assert figures["budget_satang"] == 6_000_000 * THB
    assert figures["committed_satang"] == 300_000 * THB
    assert figures["available_satang"] == 5_700_000 * THB

    [entry] = await flow.ledger(fund["id"], kind="top_up")
    assert entry["id"] == created["journal_entry_id"]
    assert entry["top_up_id"] == created["id"] and entry["loan_id"] is None
    assert entry["amount_satang"] == 1_000_000 * THB
    assert entry["effective_on"] == created["effective_on"]
    assert entry["lines"] == [
        {"account": "available_budget", "debit_satang": 1_000_000 * THB, "credit_satang": 0},
        {"account": "fund_capital", "debit_satang": 0, "credit_satang": 1_000_000 * THB},
    ]
    assert reason in entry["description"]
    # Every other kind of entry leaves top_up_id empty.
    assert all(e["top_up_id"] is None for e in await flow.ledger(fund["id"]) if e != entry)

    tb = await flow.trial_balance(fund["id"])
    balances = {a["code"]: a["balance_satang"] for a in tb["accounts"]}
    assert balances["fund_capital"] == 6_000_000 * THB
    assert balances["available_budget"] == 5_700_000 * THB
    figures_in_tb = {x["figure"]: x["fund_satang"] for x in tb["reconciliation"]}
    assert figures_in_tb["budget_satang"] == 6_000_000 * THB

    got = await flow.client.get(
        f"/v1/funds/{fund['id']}/top-ups/{created['id']}", headers=flow.auth.reader()
    )
    assert got.status_code == 200 and got.json() == created
    assert got.headers["etag"]
    listed = await flow.client.get(f"/v1/funds/{fund['id']}/top-ups", headers=flow.auth.reader())
    assert listed.status_code == 200
    assert listed.json() == {"items": [created], "next_cursor": None}


async def test_a_top_up_makes_room_for_an_approval_the_budget_refused(flow: Flow) -> None:
    fund = await flow.fund(budget_satang=300_000 * THB)
    first = await flow.apply(fund, 300_000 * THB)
    second = await flow.apply(fund, 300_000 * THB)
    assert (await flow.act(first, "approve")).status_code == 200
    refused = await flow.act(second, "approve")
    assert refused.status_code == 409 and refused.json()["type"] == "/problems/budget-exceeded"

    assert (await top_up(flow, fund["id"], top_up_body(300_000 * THB))).status_code == 201
    assert (await flow.act(second, "approve")).status_code == 200
    figures = await flow.fund_now(fund["id"])
    assert (figures["budget_satang"], figures["committed_satang"]) == (600_000 * THB,) * 2
    assert figures["available_satang"] == 0
    await flow.trial_balance(fund["id"])


async def test_a_revolving_fund_reconciles_after_a_top_up(flow: Flow) -> None:
    fund = await flow.fund(revolving=True, budget_satang=1_000_000 * THB)
    loan = await flow.active(fund, 240_000 * THB)
    assert (await flow.repay(loan, 10_000 * THB, "2025-02-15")).status_code == 201
    assert (await top_up(flow, fund["id"], top_up_body(500_000 * THB))).status_code == 201
    figures = await flow.fund_now(fund["id"])
    assert figures["budget_satang"] == 1_500_000 * THB
    assert figures["available_satang"] == (1_500_000 - 240_000 + 10_000) * THB
    await flow.trial_balance(fund["id"])


async def test_a_retry_with_the_key_replays_and_adds_nothing(flow: Flow, db: AsyncSession) -> None:
    fund = await flow.fund()
    key = str(uuid.uuid4())
    first = await top_up(flow, fund["id"], top_up_body(), key)
    assert first.status_code == 201
    after_first = await stored(db, fund["id"])

    again = await top_up(flow, fund["id"], top_up_body(), key)
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert await stored(db, fund["id"]) == after_first
    assert after_first[0] == 6_000_000 * THB and after_first[2] == 1

    other = await top_up(flow, fund["id"], top_up_body(2_000_000 * THB), key)
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    # The key names one request: the same body to another fund is another request.
    elsewhere = await flow.fund()
    moved = await top_up(flow, elsewhere["id"], top_up_body(), key)
    assert moved.status_code == 422
    assert await stored(db, fund["id"]) == after_first
    assert (await flow.fund_now(fund["id"]))["budget_satang"] == 6_000_000 * THB


async def test_the_idempotency_key_is_required(flow: Flow, db: AsyncSession) -> None:
    fund = await flow.fund()
    before = await stored(db, fund["id"])
    r = await flow.client.post(
        f"/v1/funds/{fund['id']}/top-ups", json=top_up_body(), headers=flow.auth.officer()
    )
    assert r.status_code == 400
    assert r.json()["type"] == "/problems/idempotency-key-missing"
    r = await top_up(flow, fund["id"], top_up_body(), key="not a key")
    assert r.status_code == 400
    assert await stored(db, fund["id"]) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (top_up_body(0), "body.amount_satang"),
        (top_up_body(-100), "body.amount_satang"),
        (top_up_body("100000"), "body.amount_satang"),
        (top_up_body(1000.5), "body.amount_satang"),
        (top_up_body(True), "body.amount_satang"),
        (top_up_body(None), "body.amount_satang"),
        (top_up_body(MAX_BUDGET + 1), "body.amount_satang"),
        ({"reason": "no amount"}, "body.amount_satang"),
        ({"amount_satang": 100}, "body.reason"),
        (top_up_body(reason="   "), "body.reason"),
        (top_up_body(reason=None), "body.reason"),
        (top_up_body(reason="x" * 2001), "body.reason"),
        (top_up_body(reason="bad\x00byte"), "body.reason"),
        (top_up_body(reason="bell\x07"), "body.reason"),
        ({**top_up_body(), "fund_id": str(uuid.uuid4())}, "body.fund_id"),
    ],
)
async def test_bad_bodies_are_422_and_write_nothing(
    flow: Flow, db: AsyncSession, body: Any, field: str
) -> None:
    fund = await flow.fund()
    before = await stored(db, fund["id"])
    key = str(uuid.uuid4())
    r = await top_up(flow, fund["id"], body, key)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]]
    assert await stored(db, fund["id"]) == before
    # Nothing stored under the key either: fixed, the request goes through.
    fixed = await top_up(flow, fund["id"], top_up_body(), key)
    assert fixed.status_code == 201, fixed.text


async def test_not_a_json_object_is_refused(flow: Flow) -> None:
    fund = await flow.fund()
    for content in (b"[]", b"null", b"{", b"amount_satang=1"):
        r = await flow.client.post(
            f"/v1/funds/{fund['id']}/top-ups",
            content=content,
            headers={**flow.auth.with_key(flow.auth.officer()), "content-type": "application/json"},
        )
        assert r.status_code in (400, 422), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (await flow.fund_now(fund["id"]))["budget_satang"] == 5_000_000 * THB


async def test_the_budget_stays_within_the_ceiling(flow: Flow, db: AsyncSession) -> None:
    fund = await flow.fund(budget_satang=MAX_BUDGET - 10)
    before = await stored(db, fund["id"])
    r = await top_up(flow, fund["id"], top_up_body(11))
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["errors"] == [
        {"field": "body.amount_satang", "message": "at most 10 for this fund"}
    ]
    assert problem["budget_satang"] == MAX_BUDGET - 10
    assert problem["max_budget_satang"] == MAX_BUDGET
    assert await stored(db, fund["id"]) == before

    assert (await top_up(flow, fund["id"], top_up_body(10))).status_code == 201
    assert (await flow.fund_now(fund["id"]))["budget_satang"] == MAX_BUDGET
    await flow.trial_balance(fund["id"])
    with pytest.raises(DBAPIError, match="ck_funds_budget_ceiling"):
        async with db.begin_nested():
            await db.execute(
                text("UPDATE funds SET budget_satang = budget_satang + 1 WHERE id = :f"),
                {"f": uuid.UUID(fund["id"])},
            )


async def test_who_may_top_up(flow: Flow, auth: Auth, db: AsyncSession) -> None:
    fund = await flow.fund()
    provincial_fund = await flow.fund(province_code="10")
    before = await stored(db, fund["id"])
    for headers, status in (
        (auth.reader(), 403),
        (auth.writer(), 403),
        (auth.officer(province="10"), 403),  # budgets are national, also a province's
        (auth.tokens.headers("loans:approve", province="10", client_id="p"), 403),
    ):
        for target in (fund, provincial_fund):
            r = await top_up(flow, target["id"], top_up_body(), headers=headers)
            assert r.status_code == status, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
    assert await stored(db, fund["id"]) == before

    r = await top_up(flow, str(uuid.uuid4()), top_up_body())
    assert r.status_code == 404
    r = await flow.client.post(f"/v1/funds/{fund['id']}/top-ups", json=top_up_body())
    assert r.status_code == 401

    admin = auth.tokens.headers("admin", client_id="ministry-admin")
    r = await top_up(flow, fund["id"], top_up_body(), headers=admin)
    assert r.status_code == 201 and r.json()["created_by"] == "ministry-admin"
    approver = auth.tokens.headers("loans:approve", client_id="budget-office")
    r = await top_up(flow, provincial_fund["id"], top_up_body(), headers=approver)
    assert r.status_code == 201, r.text


async def test_reading_top_ups(flow: Flow, auth: Auth) -> None:
    fund = await flow.fund()
    chiang_mai_fund = await flow.fund(province_code="50")
    made = []
    for i in range(3):
        r = await top_up(flow, fund["id"], top_up_body((i + 1) * 100_000 * THB, f"Round {i + 1}"))
        assert r.status_code == 201
        made.append(r.json())

    first = await flow.client.get(
        f"/v1/funds/{fund['id']}/top-ups", params={"limit": 2}, headers=auth.reader()
    )
    assert first.status_code == 200
    assert first.json()["items"] == made[:2] and first.json()["next_cursor"]
    rest = await flow.client.get(
        f"/v1/funds/{fund['id']}/top-ups",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=auth.reader(),
    )
    assert rest.json() == {"items": made[2:], "next_cursor": None}

    # A provincial reader sees a national fund's top-ups (its figures are public to it
    # too), not another province's fund.
    bangkok = auth.reader(province="10")
    r = await flow.client.get(f"/v1/funds/{fund['id']}/top-ups", headers=bangkok)
    assert r.status_code == 200 and len(r.json()["items"]) == 3
    r = await flow.client.get(f"/v1/funds/{chiang_mai_fund['id']}/top-ups", headers=bangkok)
    assert r.status_code == 404
    r = await flow.client.get(
        f"/v1/funds/{fund['id']}/top-ups/{made[0]['id']}", headers=auth.writer()
    )
    assert r.status_code == 200
    for path in (
        f"/v1/funds/{fund['id']}/top-ups/{uuid.uuid4()}",
        f"/v1/funds/{chiang_mai_fund['id']}/top-ups/{made[0]['id']}",
        f"/v1/funds/{uuid.uuid4()}/top-ups",
    ):
        r = await flow.client.get(path, headers=auth.reader())
        assert r.status_code == 404, path
    r = await flow.client.get(
        f"/v1/funds/{fund['id']}/top-ups", params={"cursor": "junk"}, headers=auth.reader()
    )
    assert r.status_code == 422


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE fund_top_ups SET amount_satang = amount_satang + 1 WHERE fund_id = :f",
        "UPDATE fund_top_ups SET reason = 'edited' WHERE fund_id = :f",
        "DELETE FROM fund_top_ups WHERE fund_id = :f",
    ],
)
async def test_top_ups_cannot_be_changed(flow: Flow, db: AsyncSession, statement: str) -> None:
    fund = await flow.fund()
    assert (await top_up(flow, fund["id"], top_up_body())).status_code == 201
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(text(statement), {"f": uuid.UUID(fund["id"])})


async def test_a_top_up_entry_must_name_its_top_up(flow: Flow, db: AsyncSession) -> None:
    fund = await flow.fund()
    with pytest.raises(DBAPIError, match="ck_journal_entries_top_up_reference"):
        async with db.begin_nested():
            await db.execute(
                text(
                    "INSERT INTO journal_entries (id, fund_id, kind, debit_account, credit_account,"
                    " amount_satang, effective_on, description, recorded_by) VALUES (:id, :f,"
                    " 'top_up', 'available_budget', 'fund_capital', 1, current_date, 'x', 't')"
                ),
                {"id": uuid.uuid4(), "f": uuid.UUID(fund["id"])},
            )
