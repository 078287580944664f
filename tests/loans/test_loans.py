"""Applications against the real registry, the lifecycle, the budget, provinces, scopes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.loans.conftest import CHIANG_MAI, THB, Auth, Flow, Groups, fund_body, today_bkk
from tests.support.stack import app_client


def apply_body(
    fund: dict[str, Any], group_id: str, principal: int = 300_000 * THB
) -> dict[str, Any]:
    return {
        "fund_id": fund["id"],
        "group_id": group_id,
        "principal_satang": principal,
        "purpose": "Looms and yarn",
    }


async def test_apply_for_a_known_group(flow: Flow, groups: Groups) -> None:
    fund = await flow.fund()
    group = await groups.create()
    r = await flow.client.post(
        "/v1/loans", json=apply_body(fund, group["id"]), headers=flow.auth.writer()
    )
    assert r.status_code == 201, r.text
    loan = r.json()
    assert r.headers["location"] == f"/v1/loans/{loan['id']}"
    assert loan["status"] == "submitted"
    assert loan["group_id"] == group["id"] and loan["group_name_th"] == group["name_th"]
    assert loan["province_code"] == "10" and loan["principal_satang"] == 30_000_000
    assert loan["term_months"] == 24
    assert loan["outstanding_satang"] == loan["arrears_satang"] == loan["days_past_due"] == 0
    assert loan["allowed_actions"] == ["approve", "reject", "withdraw"]

    got = await flow.client.get(f"/v1/loans/{loan['id']}", headers=flow.auth.reader())
    assert got.status_code == 200 and got.json() == loan
    assert got.headers["etag"] == r.headers["etag"]
    history = await flow.get(loan, "/history")
    assert [(c["action"], c["to_status"]) for c in history["changes"]] == [("apply", "submitted")]
    # Applying reserves nothing.
    assert (await flow.fund_now(fund["id"]))["committed_satang"] == 0
    schedule = await flow.get(loan, "/schedule")
    assert schedule["installments"] == []


async def test_unknown_group_is_422_and_nothing_is_stored(flow: Flow) -> None:
    fund = await flow.fund()
    r = await flow.client.post(
        "/v1/loans", json=apply_body(fund, str(uuid.uuid4())), headers=flow.auth.writer()
    )
    assert r.status_code == 422
    assert r.json()["type"] == "/problems/unknown-group"
    assert r.json()["errors"][0]["field"] == "body.group_id"
    listed = await flow.client.get(
        "/v1/loans", params={"fund_id": fund["id"]}, headers=flow.auth.reader()
    )
    assert listed.json()["items"] == []


@pytest.mark.parametrize("stage", ["suspended", "dissolved"])
async def test_suspended_or_dissolved_group_is_422(flow: Flow, groups: Groups, stage: str) -> None:
    fund = await flow.fund()
    group = await groups.create(stage=stage)
    r = await flow.client.post(
        "/v1/loans", json=apply_body(fund, group["id"]), headers=flow.auth.writer()
    )
    assert r.status_code == 422
    assert r.json()["type"] == "/problems/group-not-eligible"
    assert r.json()["group_status"] == stage


async def test_registry_down_is_503_and_nothing_is_written(
    loans_app_registry_down: FastAPI, auth: Auth, groups: Groups
) -> None:
    group = await groups.create()
    async with app_client(loans_app_registry_down) as (client, session):
        fund = (
            await client.post(
                "/v1/funds",
                json={
                    "name": f"Fund {uuid.uuid4().hex[:8]}",
                    "budget_satang": 500_000_000,
                    "applications_open_on": today_bkk().isoformat(),
                    "applications_close_on": today_bkk().isoformat(),
                    "min_principal_satang": 5_000_000,
                    "max_principal_satang": 30_000_000,
                },
                headers=auth.officer(),
            )
        ).json()
        r = await client.post(
            "/v1/loans",
            json=apply_body(fund, group["id"]),
            headers={**auth.writer(), "Idempotency-Key": "registry-down-1"},
        )
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"] == "/problems/dependency-unavailable"
        assert r.json()["request_id"] == r.headers["x-request-id"]
        counts = await session.execute(
            text(
                "SELECT (SELECT count(*) FROM loans WHERE fund_id = :f),"
                " (SELECT count(*) FROM loan_status_changes c JOIN loans l ON l.id = c.loan_id"
                "  WHERE l.fund_id = :f),"
                " (SELECT count(*) FROM idempotency_keys WHERE key = 'registry-down-1')"
            ),
            {"f": uuid.UUID(fund["id"])},
        )
        assert tuple(counts.one()) == (0, 0, 0)


async def test_application_window_in_bangkok_time(flow: Flow, groups: Groups) -> None:
    today = today_bkk()
    closed = await flow.fund(
        applications_open_on=(today - timedelta(days=10)).isoformat(),
        applications_close_on=(today - timedelta(days=1)).isoformat(),
    )
    not_yet = await flow.fund(
        applications_open_on=(today + timedelta(days=1)).isoformat(),
        applications_close_on=(today + timedelta(days=10)).isoformat(),
    )
    last_day = await flow.fund(
        applications_open_on=(today - timedelta(days=10)).isoformat(),
        applications_close_on=today.isoformat(),
    )
    group = await groups.create()
    for fund in (closed, not_yet):
        r = await flow.client.post(
            "/v1/loans", json=apply_body(fund, group["id"]), headers=flow.auth.writer()
        )
        assert r.status_code == 422
        assert r.json()["type"] == "/problems/applications-closed"
    r = await flow.client.post(
        "/v1/loans", json=apply_body(last_day, group["id"]), headers=flow.auth.writer()
    )
    assert r.status_code == 201  # the close date itself is still open


@pytest.mark.parametrize(
    ("principal", "status", "problem"),
    [
        (50_000 * THB - 1, 422, "/problems/principal-out-of-range"),
        (300_000 * THB + 1, 422, "/problems/principal-out-of-range"),
        (50_000 * THB, 201, None),
        (300_000 * THB, 201, None),
        (100_000.5, 422, "/problems/validation-error"),
        ("10000000", 422, "/problems/validation-error"),
        (0, 422, "/problems/validation-error"),
    ],
)
async def test_principal_range(
    flow: Flow, groups: Groups, principal: Any, status: int, problem: str | None
) -> None:
    fund = await flow.fund()
    group = await groups.create()
    r = await flow.client.post(
        "/v1/loans", json=apply_body(fund, group["id"], principal), headers=flow.auth.writer()
    )
    assert r.status_code == status, r.text
    if problem:
        assert r.json()["type"] == problem


async def test_one_open_loan_per_group_per_fund(flow: Flow, groups: Groups) -> None:
    fund, other_fund = await flow.fund(), await flow.fund()
    group = await groups.create()
    first = await flow.apply(fund, group=group)
    r = await flow.client.post(
        "/v1/loans", json=apply_body(fund, group["id"]), headers=flow.auth.writer()
    )
    assert r.status_code == 409
    assert r.json()["type"] == "/problems/open-loan-exists"
    assert r.json()["loan_id"] == first["id"]
    await flow.apply(other_fund, group=group)  # another fund is fine

    assert (await flow.act(first, "withdraw")).status_code == 200
    await flow.apply(fund, group=group)  # a withdrawn loan is not open


async def test_approve_reserves_and_disburse_posts(flow: Flow) -> None:
    fund = await flow.fund()
    loan = await flow.apply(fund, 240_000 * THB)

    r = await flow.act(loan, "approve", {"note": "Committee of 10 January"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    assert r.json()["decision_note"] == "Committee of 10 January"
    assert r.json()["allowed_actions"] == ["undo_approval", "withdraw", "disburse"]
    figures = await flow.fund_now(fund["id"])
    assert figures["committed_satang"] == 24_000_000
    assert figures["available_satang"] == 500_000_000 - 24_000_000

    r = await flow.act(loan, "disburse", {"disbursed_on": "2025-01-31"})
    assert r.status_code == 200, r.text
    active = r.json()
    assert active["status"] == "active" and active["disbursed_on"] == "2025-01-31"
    with_schedule = active["schedule"]["installments"]
    assert len(with_schedule) == 24
    assert sum(i["principal_satang"] for i in with_schedule) == 24_000_000
    assert with_schedule[0]["due_on"] == "2025-02-28"
    figures = await flow.fund_now(fund["id"])
    assert figures["committed_satang"] == 0
    assert figures["disbursed_satang"] == 24_000_000
    assert figures["outstanding_satang"] == 24_000_000
    assert figures["available_satang"] == 476_000_000

    schedule = await flow.get(loan, "/schedule", as_of="2025-01-31")
    installments = schedule["installments"]
    assert len(installments) == 24
    assert {i["principal_satang"] for i in installments} == {1_000_000}
    assert [i["due_on"] for i in installments[:3]] == ["2025-02-28", "2025-03-31", "2025-04-30"]
    assert installments[-1]["due_on"] == "2027-01-31"
    assert {i["status"] for i in installments} == {"pending"}

    kinds = [(e["kind"], e["amount_satang"]) for e in await flow.ledger(fund["id"])]
    assert kinds == [
        ("fund_opened", 500_000_000),
        ("reservation", 24_000_000),
        ("disbursement", 24_000_000),
    ]
    disbursement = (await flow.ledger(fund["id"], kind="disbursement"))[0]
    assert disbursement["loan_id"] == loan["id"]
    assert disbursement["effective_on"] == "2025-01-31"
    assert disbursement["lines"][0]["account"] == "loans_receivable"
    tb = await flow.trial_balance(fund["id"])
    balances = {a["code"]: a["balance_satang"] for a in tb["accounts"]}
    assert balances["loans_receivable"] == 24_000_000 and balances["reserved_budget"] == 0


async def test_schedule_with_remainder(flow: Flow) -> None:
    loan = await flow.active(principal_satang=5_000_001, disbursed_on="2024-01-31")
    installments = (await flow.get(loan, "/schedule"))["installments"]
    amounts = [i["principal_satang"] for i in installments]
    assert amounts[:-1] == [208_300] * 23 and amounts[-1] == 209_101
    assert sum(amounts) == 5_000_001
    assert installments[0]["due_on"] == "2024-02-29"  # leap year


async def test_budget_exceeded(flow: Flow) -> None:
    fund = await flow.fund(budget_satang=650_000 * THB)
    a = await flow.apply(fund)
    b = await flow.apply(fund)
    c = await flow.apply(fund, 60_000 * THB)
    assert (await flow.act(a, "approve")).status_code == 200
    assert (await flow.act(b, "approve")).status_code == 200
    r = await flow.act(c, "approve")
    assert r.status_code == 409
    problem = r.json()
    assert problem["type"] == "/problems/budget-exceeded"
    assert problem["available_satang"] == 50_000 * THB
    assert problem["requested_satang"] == 60_000 * THB
    assert "available" in problem["detail"]
    assert (await flow.get(c))["status"] == "submitted"

    # Withdrawing an approved loan gives its reservation back.
    assert (await flow.act(b, "withdraw")).status_code == 200
    assert (await flow.fund_now(fund["id"]))["available_satang"] == 350_000 * THB
    assert (await flow.act(c, "approve")).status_code == 200
    figures = await flow.fund_now(fund["id"])
    assert figures["committed_satang"] == 360_000 * THB
    assert figures["available_satang"] == 290_000 * THB
    await flow.trial_balance(fund["id"])


async def test_undo_approval_and_reject_release(flow: Flow) -> None:
    fund = await flow.fund()
    loan = await flow.apply(fund)
    assert (await flow.act(loan, "approve")).status_code == 200
    r = await flow.act(loan, "undo-approval", {"note": "documents missing"})
    assert r.status_code == 200
    assert r.json()["status"] == "submitted" and r.json()["decided_at"] is None
    assert (await flow.fund_now(fund["id"]))["committed_satang"] == 0
    r = await flow.act(loan, "reject", {"note": "not viable"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"

    entries = await flow.ledger(fund["id"], loan_id=loan["id"])
    assert [(e["kind"], e["lines"][0]["account"]) for e in entries] == [
        ("reservation", "reserved_budget"),
        ("release", "available_budget"),
    ]
    history = await flow.get(loan, "/history")
    assert [c["action"] for c in history["changes"]] == [
        "apply",
        "approve",
        "undo_approval",
        "reject",
    ]
    assert history["changes"][2]["note"] == "documents missing"
    assert history["changes"][1]["changed_by"] == "officer-national"
    await flow.trial_balance(fund["id"])


ACTIONS: dict[str, dict[str, Any] | None] = {
    "approve": None,
    "reject": None,
    "withdraw": None,
    "undo-approval": None,
    "disburse": {"disbursed_on": "2025-01-15"},
}
LEGAL = {
    "submitted": {"approve", "reject", "withdraw"},
    "approved": {"undo-approval", "withdraw", "disburse"},
    "active": set(),
    "rejected": set(),
    "withdrawn": set(),
}


@pytest.mark.parametrize("status", list(LEGAL))
async def test_illegal_transitions_are_409(flow: Flow, status: str) -> None:
    fund = await flow.fund()
    loan = await flow.apply(fund)
    path = {
        "submitted": [],
        "approved": ["approve"],
        "active": ["approve", "disburse"],
        "rejected": ["reject"],
        "withdrawn": ["withdraw"],
    }[status]
    for action in path:
        assert (await flow.act(loan, action, ACTIONS[action])).status_code == 200
    assert (await flow.get(loan))["status"] == status
    before = await flow.fund_now(fund["id"])
    for action in sorted(set(ACTIONS) - LEGAL[status]):
        r = await flow.act(loan, action, ACTIONS[action])
        assert r.status_code == 409, (status, action, r.text)
        assert r.json()["type"] == "/problems/invalid-loan-transition"
        assert r.json()["status_now"] == status
    after = await flow.fund_now(fund["id"])
    assert after == before
    await flow.trial_balance(fund["id"])


async def test_disbursement_date_not_in_the_future(flow: Flow) -> None:
    loan = await flow.apply(await flow.fund())
    await flow.act(loan, "approve")
    tomorrow = (today_bkk() + timedelta(days=1)).isoformat()
    r = await flow.act(loan, "disburse", {"disbursed_on": tomorrow})
    assert r.status_code == 422
    assert (await flow.get(loan))["status"] == "approved"
    r = await flow.act(loan, "disburse", {})
    assert r.status_code == 422


async def test_if_match_guards_actions(flow: Flow) -> None:
    loan = await flow.apply(await flow.fund())
    got = await flow.client.get(f"/v1/loans/{loan['id']}", headers=flow.auth.reader())
    etag = got.headers["etag"]
    stale = '"0000"'
    r = await flow.client.post(
        f"/v1/loans/{loan['id']}/approve", headers={**flow.auth.officer(), "If-Match": stale}
    )
    assert r.status_code == 412
    r = await flow.client.post(
        f"/v1/loans/{loan['id']}/approve", headers={**flow.auth.officer(), "If-Match": etag}
    )
    assert r.status_code == 200
    assert r.headers["etag"] != etag


async def test_idempotency_key_on_an_action(flow: Flow) -> None:
    fund = await flow.fund()
    loan = await flow.apply(fund)
    headers = flow.auth.with_key(flow.auth.officer(), "approve-once")
    first = await flow.client.post(f"/v1/loans/{loan['id']}/approve", headers=headers)
    again = await flow.client.post(f"/v1/loans/{loan['id']}/approve", headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert (await flow.fund_now(fund["id"]))["committed_satang"] == 30_000_000
    r = await flow.client.post(
        f"/v1/loans/{loan['id']}/approve", json={"note": "other"}, headers=headers
    )
    assert r.status_code == 422 and r.json()["type"] == "/problems/idempotency-key-reused"


async def test_scopes(flow: Flow, groups: Groups) -> None:
    fund = await flow.fund()
    group = await groups.create()
    reader = flow.auth.reader()
    r = await flow.client.post("/v1/loans", json=apply_body(fund, group["id"]), headers=reader)
    assert r.status_code == 403
    loan = await flow.apply(fund, group=group, headers=flow.auth.writer())
    for action in ("approve", "reject", "undo-approval", "disburse"):
        r = await flow.client.post(
            f"/v1/loans/{loan['id']}/{action}",
            json=ACTIONS[action],
            headers=flow.auth.writer(),
        )
        assert r.status_code == 403, action
        assert r.json()["missing_scopes"] == ["loans:approve"]
    r = await flow.client.post(f"/v1/loans/{loan['id']}/withdraw", headers=flow.auth.writer())
    assert r.status_code == 200
    assert (await flow.client.get(f"/v1/loans/{loan['id']}")).status_code == 401


async def test_province_restriction(flow: Flow, groups: Groups) -> None:
    fund = await flow.fund()
    bangkok_loan = await flow.apply(fund)
    chiang_mai_group = await groups.create(CHIANG_MAI)
    chiang_mai_loan = await flow.apply(fund, group=chiang_mai_group)
    assert chiang_mai_loan["province_code"] == "50"

    officer_50 = flow.auth.officer("50")
    r = await flow.client.get(f"/v1/loans/{bangkok_loan['id']}", headers=officer_50)
    assert r.status_code == 404
    for action in ("approve", "withdraw"):
        r = await flow.client.post(f"/v1/loans/{bangkok_loan['id']}/{action}", headers=officer_50)
        assert r.status_code == 404
    r = await flow.client.get(f"/v1/loans/{bangkok_loan['id']}/schedule", headers=officer_50)
    assert r.status_code == 404
    r = await flow.client.post(f"/v1/loans/{chiang_mai_loan['id']}/approve", headers=officer_50)
    assert r.status_code == 200
    listed = await flow.client.get("/v1/loans", params={"fund_id": fund["id"]}, headers=officer_50)
    assert [loan["id"] for loan in listed.json()["items"]] == [chiang_mai_loan["id"]]

    # Applying for another province's group is forbidden.
    other = await groups.create()
    r = await flow.client.post("/v1/loans", json=apply_body(fund, other["id"]), headers=officer_50)
    assert r.status_code == 403

    # A provincial fund lends only to its province's groups.
    fund_50 = await flow.fund(province_code="50")
    r = await flow.client.post(
        "/v1/loans", json=apply_body(fund_50, other["id"]), headers=flow.auth.officer()
    )
    assert r.status_code == 422
    await flow.apply(fund_50, group=chiang_mai_group)


async def test_list_loans_filters_and_pages(flow: Flow) -> None:
    fund = await flow.fund()
    loans = [await flow.apply(fund) for _ in range(3)]
    await flow.act(loans[0], "approve")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"fund_id": fund["id"], "limit": "2", **({"cursor": cursor} if cursor else {})}
        r = await flow.client.get("/v1/loans", params=params, headers=flow.auth.reader())
        assert r.status_code == 200
        seen += [loan["id"] for loan in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(loan["id"] for loan in loans)
    r = await flow.client.get(
        "/v1/loans",
        params={"fund_id": fund["id"], "status": "approved"},
        headers=flow.auth.reader(),
    )
    assert [loan["id"] for loan in r.json()["items"]] == [loans[0]["id"]]
    r = await flow.client.get("/v1/loans", params={"status": "bogus"}, headers=flow.auth.reader())
    assert r.status_code == 422


async def test_unknown_loan_is_404(flow: Flow) -> None:
    missing = str(uuid.uuid4())
    for path in ("", "/schedule", "/history", "/repayments"):
        r = await flow.client.get(f"/v1/loans/{missing}{path}", headers=flow.auth.reader())
        assert r.status_code == 404, path
    r = await flow.client.post(f"/v1/loans/{missing}/approve", headers=flow.auth.officer())
    assert r.status_code == 404
    r = await flow.client.get("/v1/loans/not-a-uuid", headers=flow.auth.reader())
    assert r.status_code == 404


async def test_dates_are_written_yyyy_mm_dd(flow: Flow) -> None:
    fund = await flow.fund()
    loan = await flow.apply(fund)
    for bad in ("0", "20250101", "2025-02-30", "2025-01-01T00:00:00"):
        r = await flow.client.get(
            f"/v1/loans/{loan['id']}", params={"as_of": bad}, headers=flow.auth.reader()
        )
        assert r.status_code == 422, bad
        r = await flow.client.get(
            f"/v1/funds/{fund['id']}/portfolio", params={"as_of": bad}, headers=flow.auth.reader()
        )
        assert r.status_code == 422, bad
    assert (await flow.get(loan, as_of="2025-01-01"))["as_of"] == "2025-01-01"
    await flow.act(loan, "approve")
    for bad_body in ({"disbursed_on": 0}, {"disbursed_on": "0"}, {"disbursed_on": 1736899200}):
        r = await flow.act(loan, "disburse", bad_body)
        assert r.status_code == 422, bad_body
    r = await flow.client.post(
        "/v1/funds",
        json={**fund_body(), "applications_open_on": 0},
        headers=flow.auth.officer(),
    )
    assert r.status_code == 422


async def test_text_with_control_characters_is_422(flow: Flow, groups: Groups) -> None:
    fund = await flow.fund()
    group = await groups.create()
    body = {**apply_body(fund, group["id"]), "purpose": "rice\x00mill"}
    r = await flow.client.post("/v1/loans", json=body, headers=flow.auth.writer())
    assert r.status_code == 422
    body["purpose"] = "  ข้าว; DROP TABLE loans; -- <b>\n"
    r = await flow.client.post("/v1/loans", json=body, headers=flow.auth.writer())
    assert r.status_code == 201 and r.json()["purpose"] == "ข้าว; DROP TABLE loans; -- <b>"
