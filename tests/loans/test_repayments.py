"""Repayments: idempotency, allocation, closing, reversal, arrears and portfolio."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
from otog_devstack.postgres import plain_url
from otog_loan_ledger.idempotency.service import lock_key
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.loans.conftest import THB, Flow, today_bkk
from tests.support.stack import Databases

INSTALLMENT = 12_500 * THB  # of a 300,000 THB loan over 24 months


async def paid_per_installment(flow: Flow, loan: dict[str, Any]) -> list[int]:
    schedule = await flow.get(loan, "/schedule")
    return [i["paid_satang"] for i in schedule["installments"]]


async def test_idempotency_key_is_required(flow: Flow) -> None:
    loan = await flow.active()
    r = await flow.client.post(
        f"/v1/loans/{loan['id']}/repayments",
        json={"amount_satang": INSTALLMENT, "paid_on": "2025-02-15"},
        headers=flow.auth.officer(),
    )
    assert r.status_code == 400
    assert r.json()["type"] == "/problems/idempotency-key-missing"
    bad = flow.auth.with_key(flow.auth.officer(), "has spaces in it")
    r = await flow.client.post(
        f"/v1/loans/{loan['id']}/repayments",
        json={"amount_satang": INSTALLMENT, "paid_on": "2025-02-15"},
        headers=bad,
    )
    assert r.status_code == 400
    assert (await flow.get(loan))["paid_satang"] == 0


async def test_same_key_same_body_replays_and_posts_nothing(flow: Flow) -> None:
    loan = await flow.active()
    first = await flow.repay(loan, INSTALLMENT, "2025-02-15", key="pay-1")
    assert first.status_code == 201, first.text
    again = await flow.repay(loan, INSTALLMENT, "2025-02-15", key="pay-1")
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert "idempotent-replayed" not in first.headers

    assert (await flow.get(loan))["paid_satang"] == INSTALLMENT
    repayments = await flow.get(loan, "/repayments")
    assert len(repayments["items"]) == 1
    assert len(await flow.ledger(loan["fund_id"], kind="repayment")) == 1
    assert (await flow.fund_now(loan["fund_id"]))["repaid_satang"] == INSTALLMENT

    other_body = await flow.repay(loan, INSTALLMENT + 100, "2025-02-15", key="pay-1")
    assert other_body.status_code == 422
    assert other_body.json()["type"] == "/problems/idempotency-key-reused"
    assert (await flow.get(loan))["paid_satang"] == INSTALLMENT


async def test_keys_are_per_client(flow: Flow) -> None:
    loan = await flow.active()
    body = {"amount_satang": INSTALLMENT, "paid_on": "2025-02-15"}
    for client_id in ("office-a", "office-b"):
        headers = flow.auth.tokens.headers("loans:write", client_id=client_id)
        r = await flow.client.post(
            f"/v1/loans/{loan['id']}/repayments",
            json=body,
            headers={**headers, "Idempotency-Key": "shared-key"},
        )
        assert r.status_code == 201
        assert "idempotent-replayed" not in r.headers
    assert (await flow.get(loan))["paid_satang"] == 2 * INSTALLMENT


async def test_a_failed_request_can_be_retried_with_its_key(flow: Flow) -> None:
    loan = await flow.active()
    too_early = await flow.repay(loan, INSTALLMENT, "2025-01-14", key="retry-me")
    assert too_early.status_code == 422
    fixed = await flow.repay(loan, INSTALLMENT, "2025-01-14", key="retry-me")
    assert fixed.status_code == 422  # evaluated again, not replayed
    ok = await flow.repay(loan, INSTALLMENT, "2025-01-16", key="retry-me")
    assert ok.status_code == 201


async def test_allocation_oldest_first_partial_and_early(flow: Flow) -> None:
    loan = await flow.active()
    r = await flow.repay(loan, 5_000 * THB, "2025-02-10")
    assert r.status_code == 201
    assert r.json()["allocations"] == [{"installment_number": 1, "amount_satang": 5_000 * THB}]
    assert r.json()["status"] == "posted" and r.json()["loan_status"] == "active"
    r = await flow.repay(loan, 20_000 * THB, "2025-02-12")
    assert r.json()["allocations"] == [
        {"installment_number": 1, "amount_satang": 7_500 * THB},
        {"installment_number": 2, "amount_satang": 12_500 * THB},
    ]
    assert r.json()["loan_outstanding_satang"] == 275_000 * THB
    paid = await paid_per_installment(flow, loan)
    assert paid[:3] == [INSTALLMENT, INSTALLMENT, 0] and sum(paid) == 25_000 * THB
    # Paid ahead: no arrears although the second installment is not yet due.
    current = await flow.get(loan, as_of="2025-03-20")
    assert current["arrears_satang"] == 0 and current["days_past_due"] == 0
    late = await flow.get(loan, as_of="2025-04-20")
    assert late["arrears_satang"] == INSTALLMENT and late["days_past_due"] == 5


async def test_overpayment_and_dates_are_422(flow: Flow) -> None:
    loan = await flow.active()
    r = await flow.repay(loan, 300_000 * THB + 1, "2025-02-15")
    assert r.status_code == 422
    assert r.json()["type"] == "/problems/overpayment"
    assert r.json()["outstanding_satang"] == 300_000 * THB
    r = await flow.repay(loan, INSTALLMENT, (today_bkk() + timedelta(days=1)).isoformat())
    assert r.status_code == 422
    r = await flow.repay(loan, INSTALLMENT, "2025-01-14")
    assert r.status_code == 422
    for amount in (0, -5, 1.5, "100"):
        r = await flow.client.post(
            f"/v1/loans/{loan['id']}/repayments",
            json={"amount_satang": amount, "paid_on": "2025-02-15"},
            headers=flow.auth.with_key(flow.auth.officer()),
        )
        assert r.status_code == 422, amount
    assert (await flow.get(loan))["paid_satang"] == 0


async def test_repaying_a_loan_that_is_not_active_is_409(flow: Flow) -> None:
    loan = await flow.apply(await flow.fund())
    r = await flow.repay(loan, INSTALLMENT, "2025-02-15")
    assert r.status_code == 409 and r.json()["type"] == "/problems/loan-not-active"


async def test_paid_in_full_closes_then_reversal_reopens(flow: Flow) -> None:
    loan = await flow.active()
    fund_id = loan["fund_id"]
    a = (await flow.repay(loan, 100_000 * THB, "2025-03-01")).json()
    b = (await flow.repay(loan, 150_000 * THB, "2025-06-01")).json()
    c = await flow.repay(loan, 50_000 * THB, "2025-07-01")
    assert c.status_code == 201 and c.json()["loan_status"] == "closed"
    closed = await flow.get(loan)
    assert closed["status"] == "closed" and closed["closed_on"] == "2025-07-01"
    assert closed["outstanding_satang"] == 0 and closed["allowed_actions"] == []
    r = await flow.repay(loan, 100, "2025-07-02")
    assert r.status_code == 409
    figures = await flow.fund_now(fund_id)
    assert figures["repaid_satang"] == 300_000 * THB and figures["outstanding_satang"] == 0
    await flow.trial_balance(fund_id)

    # Reverse the middle one: the loan reopens and the rest is re-allocated.
    r = await flow.client.post(
        f"/v1/loans/{loan['id']}/repayments/{b['id']}/reverse",
        json={"reason": "Transfer returned by the bank"},
        headers=flow.auth.officer(),
    )
    assert r.status_code == 200, r.text
    reversed_ = r.json()
    assert reversed_["status"] == "reversed" and reversed_["allocations"] == []
    assert reversed_["reversal"]["reason"] == "Transfer returned by the bank"
    assert reversed_["loan_status"] == "active"
    assert reversed_["loan_outstanding_satang"] == 150_000 * THB
    reopened = await flow.get(loan)
    assert reopened["status"] == "active" and reopened["closed_on"] is None
    assert reopened["paid_satang"] == 150_000 * THB
    paid = await paid_per_installment(flow, loan)
    assert paid == [INSTALLMENT] * 12 + [0] * 12
    c_now = await flow.get(loan, f"/repayments/{c.json()['id']}")
    assert c_now["allocations"] == [
        {"installment_number": 9, "amount_satang": INSTALLMENT},
        {"installment_number": 10, "amount_satang": INSTALLMENT},
        {"installment_number": 11, "amount_satang": INSTALLMENT},
        {"installment_number": 12, "amount_satang": INSTALLMENT},
    ]
    a_now = await flow.get(loan, f"/repayments/{a['id']}")
    assert [x["installment_number"] for x in a_now["allocations"]] == list(range(1, 9))

    history = [c["action"] for c in (await flow.get(loan, "/history"))["changes"]]
    assert history[-2:] == ["close", "reopen"]

    # The ledger got a reversing entry; nothing was edited.
    entries = await flow.ledger(fund_id, loan_id=loan["id"])
    original = next(e for e in entries if e["kind"] == "repayment" and e["repayment_id"] == b["id"])
    reversal = next(e for e in entries if e["kind"] == "repayment_reversal")
    assert reversal["reverses_entry_id"] == original["id"]
    assert reversal["amount_satang"] == original["amount_satang"] == 150_000 * THB
    assert reversal["lines"][0]["account"] == original["lines"][1]["account"] == "loans_receivable"
    assert original["description"] == "Repayment received"
    figures = await flow.fund_now(fund_id)
    assert figures["repaid_satang"] == 150_000 * THB
    tb = await flow.trial_balance(fund_id)
    balances = {x["code"]: x["balance_satang"] for x in tb["accounts"]}
    assert balances["collections"] == 150_000 * THB
    assert balances["loans_receivable"] == 150_000 * THB

    again = await flow.client.post(
        f"/v1/loans/{loan['id']}/repayments/{b['id']}/reverse",
        json={"reason": "twice"},
        headers=flow.auth.officer(),
    )
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/repayment-already-reversed"

    # Repay what the reversal took back: closed again, on the new date.
    r = await flow.repay(loan, 150_000 * THB, "2025-08-01")
    assert r.json()["loan_status"] == "closed"
    assert (await flow.get(loan))["closed_on"] == "2025-08-01"
    await flow.trial_balance(fund_id)


async def test_reversal_needs_approver_scope_and_the_right_loan(flow: Flow) -> None:
    loan = await flow.active()
    other = await flow.active()
    repayment = (await flow.repay(loan, INSTALLMENT, "2025-02-15")).json()
    path = f"/v1/loans/{loan['id']}/repayments/{repayment['id']}/reverse"
    r = await flow.client.post(path, json={"reason": "x"}, headers=flow.auth.writer())
    assert r.status_code == 403
    r = await flow.client.post(
        f"/v1/loans/{other['id']}/repayments/{repayment['id']}/reverse",
        json={"reason": "x"},
        headers=flow.auth.officer(),
    )
    assert r.status_code == 404
    r = await flow.client.post(path, json={}, headers=flow.auth.officer())
    assert r.status_code == 422


async def test_arrears_and_days_past_due_as_of(flow: Flow) -> None:
    loan = await flow.active(disbursed_on="2025-01-31")
    await flow.repay(loan, INSTALLMENT, "2025-02-27")
    await flow.repay(loan, 5_000 * THB, "2025-04-02")
    cases = [
        ("2025-01-30", 0, 0, 0, 0),  # before the disbursement
        ("2025-01-31", 0, 0, 0, 300_000 * THB),
        ("2025-02-28", INSTALLMENT, 0, 0, 300_000 * THB - INSTALLMENT),
        ("2025-03-31", INSTALLMENT, 0, 0, 287_500 * THB),  # due today: not late yet
        ("2025-04-01", INSTALLMENT, INSTALLMENT, 1, 287_500 * THB),
        ("2025-04-02", 17_500 * THB, 7_500 * THB, 2, 282_500 * THB),
        ("2025-05-01", 17_500 * THB, 20_000 * THB, 31, 282_500 * THB),
        ("2025-05-31", 17_500 * THB, 20_000 * THB, 61, 282_500 * THB),
    ]
    for as_of, paid, arrears, dpd, outstanding in cases:
        got = await flow.get(loan, as_of=as_of)
        assert got["as_of"] == as_of
        assert (
            got["paid_satang"],
            got["arrears_satang"],
            got["days_past_due"],
            got["outstanding_satang"],
        ) == (paid, arrears, dpd, outstanding), as_of
    schedule = await flow.get(loan, "/schedule", as_of="2025-05-31")
    statuses = [i["status"] for i in schedule["installments"][:5]]
    assert statuses == ["paid", "overdue", "overdue", "pending", "pending"]
    assert schedule["installments"][1]["paid_satang"] == 5_000 * THB
    assert schedule["installments"][1]["due_on"] == "2025-03-31"
    early = await flow.get(loan, "/schedule", as_of="2025-03-15")
    assert early["installments"][1]["status"] == "pending"


async def test_portfolio_at_risk(flow: Flow) -> None:
    fund = await flow.fund()
    current = await flow.active(fund, disbursed_on="2025-01-15")
    late_10 = await flow.active(fund, disbursed_on="2025-01-15")
    await flow.active(fund, 240_000 * THB, disbursed_on="2025-01-15")  # 38 days late
    settled = await flow.active(fund, 100_000 * THB, disbursed_on="2025-01-15")
    await flow.repay(current, 3 * INSTALLMENT, "2025-02-01")
    await flow.repay(late_10, INSTALLMENT, "2025-02-15")
    await flow.repay(settled, 100_000 * THB, "2025-02-01")
    # As of 2025-03-25: due 15 Feb and 15 Mar.
    r = await flow.client.get(
        f"/v1/funds/{fund['id']}/portfolio",
        params={"as_of": "2025-03-25"},
        headers=flow.auth.reader(),
    )
    assert r.status_code == 200, r.text
    p = r.json()
    buckets = {b["bucket"]: b for b in p["buckets"]}
    assert [b["bucket"] for b in p["buckets"]] == ["current", "1-30", "31-60", "61-90", "90+"]
    assert p["loans"] == 3  # the settled loan has nothing outstanding
    assert buckets["current"]["loans"] == 1
    assert buckets["current"]["outstanding_satang"] == 300_000 * THB - 3 * INSTALLMENT
    assert buckets["1-30"]["loans"] == 1
    assert buckets["1-30"]["outstanding_satang"] == 300_000 * THB - INSTALLMENT
    assert buckets["1-30"]["arrears_satang"] == INSTALLMENT
    assert buckets["31-60"]["loans"] == 1  # nothing paid since 15 Feb: 38 days
    assert buckets["31-60"]["outstanding_satang"] == 240_000 * THB
    assert buckets["31-60"]["arrears_satang"] == 20_000 * THB
    assert buckets["61-90"]["loans"] == buckets["90+"]["loans"] == 0
    total = p["outstanding_satang"]
    assert total == sum(b["outstanding_satang"] for b in p["buckets"])
    assert p["at_risk_satang"] == total - buckets["current"]["outstanding_satang"]
    assert p["par_bps"] == p["at_risk_satang"] * 10_000 // total
    assert p["province_code"] is None

    before = await flow.client.get(
        f"/v1/funds/{fund['id']}/portfolio",
        params={"as_of": "2025-01-01"},
        headers=flow.auth.reader(),
    )
    assert before.json()["loans"] == 0 and before.json()["outstanding_satang"] == 0
    provincial = await flow.client.get(
        f"/v1/funds/{fund['id']}/portfolio", headers=flow.auth.reader("50")
    )
    assert provincial.json()["loans"] == 0 and provincial.json()["province_code"] == "50"


async def test_revolving_fund_lends_repaid_money_again(flow: Flow) -> None:
    fund = await flow.fund(revolving=True, budget_satang=300_000 * THB)
    loan = await flow.active(fund)
    assert (await flow.fund_now(fund["id"]))["available_satang"] == 0
    repayment = (await flow.repay(loan, 100_000 * THB, "2025-03-01")).json()
    figures = await flow.fund_now(fund["id"])
    assert figures["available_satang"] == 100_000 * THB
    assert figures["repaid_satang"] == 100_000 * THB
    tb = await flow.trial_balance(fund["id"])
    balances = {a["code"]: a["balance_satang"] for a in tb["accounts"]}
    assert balances["available_budget"] == 100_000 * THB and balances["collections"] == 0

    second = await flow.apply(fund, 100_000 * THB)
    assert (await flow.act(second, "approve")).status_code == 200
    # The repaid money is lent again: reversing the repayment would break the budget.
    r = await flow.client.post(
        f"/v1/loans/{loan['id']}/repayments/{repayment['id']}/reverse",
        json={"reason": "bounced"},
        headers=flow.auth.officer(),
    )
    assert r.status_code == 409 and r.json()["type"] == "/problems/budget-exceeded"
    assert (await flow.get(loan))["paid_satang"] == 100_000 * THB
    await flow.trial_balance(fund["id"])


async def test_non_revolving_fund_does_not_lend_repaid_money(flow: Flow) -> None:
    fund = await flow.fund(budget_satang=300_000 * THB)
    loan = await flow.active(fund)
    await flow.repay(loan, 100_000 * THB, "2025-03-01")
    assert (await flow.fund_now(fund["id"]))["available_satang"] == 0
    second = await flow.apply(fund, 100_000 * THB)
    r = await flow.act(second, "approve")
    assert r.status_code == 409 and r.json()["available_satang"] == 0


async def test_repayment_list_pages_and_stored_installments_agree(
    flow: Flow, loans: httpx.AsyncClient, db: AsyncSession
) -> None:
    loan = await flow.active()
    ids = [(await flow.repay(loan, 1_000 * THB, "2025-02-01")).json()["id"] for _ in range(3)]
    r = await loans.get(
        f"/v1/loans/{loan['id']}/repayments", params={"limit": 2}, headers=flow.auth.reader()
    )
    page1 = r.json()
    r = await loans.get(
        f"/v1/loans/{loan['id']}/repayments",
        params={"limit": 2, "cursor": page1["next_cursor"]},
        headers=flow.auth.reader(),
    )
    page2 = r.json()
    assert [x["id"] for x in page1["items"] + page2["items"]] == ids
    assert page2["next_cursor"] is None
    missing = await loans.get(
        f"/v1/loans/{loan['id']}/repayments/{uuid.uuid4()}", headers=flow.auth.reader()
    )
    assert missing.status_code == 404
    one = await loans.get(f"/v1/loans/{loan['id']}/repayments/{ids[0]}", headers=flow.auth.reader())
    assert one.status_code == 200 and one.headers["etag"]
    schedule = await loans.get(f"/v1/loans/{loan['id']}/schedule", headers=flow.auth.reader())
    etag = schedule.headers["etag"]
    await flow.repay(loan, 1_000 * THB, "2025-02-01")
    schedule = await loans.get(f"/v1/loans/{loan['id']}/schedule", headers=flow.auth.reader())
    assert schedule.headers["etag"] != etag

    # The stored installment balances agree with the repayments.
    paid = [i["paid_satang"] for i in schedule.json()["installments"]]
    stored = await db.execute(
        text("SELECT paid_satang FROM installments WHERE loan_id = :l ORDER BY number"),
        {"l": uuid.UUID(loan["id"])},
    )
    assert [row[0] for row in stored] == paid and sum(paid) == 4_000 * THB


async def test_same_key_while_the_first_is_in_flight_is_409(
    flow: Flow, databases: Databases
) -> None:
    """Another transaction holding the key (a first request still running) makes a
    duplicate answer 409 at once instead of waiting or posting twice."""
    loan = await flow.active()
    holder = await asyncpg.connect(plain_url(databases.urls["loan-ledger"]))
    try:
        async with holder.transaction():
            await holder.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                lock_key("officer-national", "in-flight-1"),
            )
            r = await flow.repay(loan, INSTALLMENT, "2025-02-15", key="in-flight-1")
            assert r.status_code == 409
            assert r.json()["type"] == "/problems/idempotency-key-in-flight"
            assert r.headers["retry-after"] == "1"
            assert (await flow.get(loan))["paid_satang"] == 0
    finally:
        await holder.close()
    r = await flow.repay(loan, INSTALLMENT, "2025-02-15", key="in-flight-1")
    assert r.status_code == 201
