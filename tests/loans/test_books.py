"""Random sequences of every operation keep the books right: after each step the
fund's figures equal what its loans say, and the ledger reconciles with both."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from tests.loans.conftest import THB, Flow, today_bkk

OK = {200, 201}
REFUSED = {409, 422}


async def check_books(flow: Flow, fund_id: str, revolving: bool) -> None:
    fund = await flow.fund_now(fund_id)
    r = await flow.client.get(
        "/v1/loans", params={"fund_id": fund_id, "limit": 200}, headers=flow.auth.reader()
    )
    loans = r.json()["items"]
    approved = sum(x["principal_satang"] for x in loans if x["status"] == "approved")
    disbursed = sum(x["principal_satang"] for x in loans if x["status"] in ("active", "closed"))
    repaid = sum(x["paid_satang"] for x in loans)
    assert fund["committed_satang"] == approved
    assert fund["disbursed_satang"] == disbursed
    assert fund["repaid_satang"] == repaid
    assert fund["available_satang"] == (
        fund["budget_satang"] - approved - disbursed + (repaid if revolving else 0)
    )
    assert fund["available_satang"] >= 0
    for loan in loans:
        if loan["status"] in ("active", "closed"):
            assert (loan["status"] == "closed") == (loan["outstanding_satang"] == 0)
            schedule = await flow.get(loan, "/schedule")
            assert sum(i["paid_satang"] for i in schedule["installments"]) == loan["paid_satang"]
            assert (
                sum(i["principal_satang"] for i in schedule["installments"])
                == (loan["principal_satang"])
            )
    await flow.trial_balance(fund_id)


ACTIONS = ["approve", "reject", "withdraw", "undo-approval", "disburse"]
WEIGHTS = {"approve": 4, "disburse": 4, "reject": 1, "withdraw": 1, "undo-approval": 1}


@pytest.mark.parametrize("revolving", [False, True], ids=["one-time", "revolving"])
async def test_random_operations_keep_the_books_right(flow: Flow, revolving: bool) -> None:
    rng = random.Random(20250331 + revolving)
    fund = await flow.fund(budget_satang=1_000_000 * THB, revolving=revolving)
    groups = [await flow.groups.create() for _ in range(6)]
    open_loan: dict[str, dict[str, Any]] = {}
    loans: list[dict[str, Any]] = []
    repayments: dict[str, list[str]] = {}
    today = today_bkk()
    seen: Counter[tuple[str, int]] = Counter()

    for step in range(90):
        free = [g for g in groups if g["id"] not in open_loan]
        live = [x for x in loans if x["group_id"] in open_loan or x["id"] in repayments]
        if free and (not live or rng.random() < 0.2):
            group = rng.choice(free)
            loan = await flow.apply(fund, rng.randint(50_000 * THB, 300_000 * THB), group=group)
            open_loan[group["id"]] = loan
            loans.append(loan)
            seen["apply", 201] += 1
            continue
        loan = await flow.get(rng.choice(live))
        roll = rng.random()
        if loan["status"] in ("active", "closed") and roll < 0.85:
            if repayments.get(loan["id"]) and (loan["status"] == "closed" or roll < 0.15):
                op = "reverse"
                r = await flow.client.post(
                    f"/v1/loans/{loan['id']}/repayments/"
                    f"{rng.choice(repayments[loan['id']])}/reverse",
                    json={"reason": f"step {step}"},
                    headers=flow.auth.officer(),
                )
            else:
                op = "repay"
                amount = rng.choice(
                    [rng.randint(1, 60_000 * THB), loan["outstanding_satang"], 12_345]
                )
                disbursed_on = date.fromisoformat(loan["disbursed_on"])
                paid_on = disbursed_on + timedelta(days=rng.randint(0, (today - disbursed_on).days))
                r = await flow.repay(loan, amount, paid_on.isoformat())
                if r.status_code == 201:
                    repayments.setdefault(loan["id"], []).append(r.json()["id"])
        else:
            legal = loan["allowed_actions"]
            if legal and roll < 0.85:
                op = rng.choices(legal, weights=[WEIGHTS[a.replace("_", "-")] for a in legal])[0]
                op = op.replace("_", "-")
            else:
                op = rng.choice(ACTIONS)
            body = None
            if op == "disburse":
                body = {"disbursed_on": (today - timedelta(days=rng.randint(0, 900))).isoformat()}
            r = await flow.act(loan, op, body)
            if r.status_code == 200 and r.json()["status"] in ("rejected", "withdrawn"):
                open_loan.pop(loan["group_id"], None)
        seen[op, r.status_code] += 1
        assert r.status_code in OK | REFUSED, (step, op, r.text)
        if step % 6 == 0:
            await check_books(flow, fund["id"], revolving)
    await check_books(flow, fund["id"], revolving)
    # The walk really moved money every way.
    for op in ("approve", "disburse", "repay", "reverse"):
        assert seen[op, 200] + seen[op, 201] > 0, seen
