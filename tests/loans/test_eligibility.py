"""The group's standing is asked of the real registry again at approval and at
disbursement: a group suspended, dissolved or unknown since it applied is 409 and
nothing moves; a registry that cannot answer is 503 and nothing moves."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.loans.conftest import THB, Auth, Flow, Groups, fund_body
from tests.support.stack import app_client


async def change_stage(groups: Groups, group_id: str, stage: str) -> None:
    """As a registrar would: the registry's own stage-change endpoint."""
    async with httpx.AsyncClient(base_url=groups.base_url, timeout=10) as client:
        r = await client.post(
            f"/v1/groups/{group_id}/stage-changes", json={"stage": stage}, headers=groups.headers
        )
        assert r.status_code == 201, r.text


async def books(db: AsyncSession, fund_id: str) -> dict[str, Any]:
    """What the refused request must not have changed, read from the database."""
    row = (
        await db.execute(
            text(
                "SELECT f.committed_satang, f.disbursed_satang, f.version,"
                " (SELECT count(*) FROM journal_entries j WHERE j.fund_id = f.id),"
                " (SELECT count(*) FROM installments i JOIN loans l ON l.id = i.loan_id"
                "   WHERE l.fund_id = f.id),"
                " (SELECT count(*) FROM loan_status_changes c JOIN loans l ON l.id = c.loan_id"
                "   WHERE l.fund_id = f.id),"
                " (SELECT array_agg(l.status || ':' || l.version ORDER BY l.id) FROM loans l"
                "   WHERE l.fund_id = f.id)"
                " FROM funds f WHERE f.id = :f"
            ),
            {"f": uuid.UUID(fund_id)},
        )
    ).one()
    keys = ("committed", "disbursed", "fund_version", "entries", "installments", "changes")
    return {**dict(zip(keys, row[:6], strict=True)), "loans": row[6]}


def assert_not_eligible(r: httpx.Response, group_status: str | None) -> None:
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"] == "/problems/group-not-eligible"
    assert problem.get("group_status") == group_status


@pytest.mark.parametrize("stage", ["suspended", "dissolved"])
async def test_approval_of_a_group_suspended_or_dissolved_since_applying_is_409(
    flow: Flow, groups: Groups, db: AsyncSession, stage: str
) -> None:
    fund = await flow.fund()
    group = await groups.create()
    loan = await flow.apply(fund, group=group)
    await change_stage(groups, group["id"], stage)
    before = await books(db, fund["id"])

    key = str(uuid.uuid4())
    r = await flow.client.post(
        f"/v1/loans/{loan['id']}/approve",
        json={"note": "committee 1/2568"},
        headers=flow.auth.with_key(flow.auth.officer(), key),
    )
    assert_not_eligible(r, stage)
    assert r.json()["group_id"] == group["id"]

    # Nothing reserved, nothing recorded, not even the idempotency key.
    assert await books(db, fund["id"]) == before
    assert before["committed"] == 0
    figures = await flow.fund_now(fund["id"])
    assert figures["committed_satang"] == 0
    assert figures["available_satang"] == figures["budget_satang"]
    assert (await flow.get(loan))["status"] == "submitted"
    stored = await db.execute(
        text("SELECT count(*) FROM idempotency_keys WHERE key = :k"), {"k": key}
    )
    assert stored.scalar_one() == 0
    await flow.trial_balance(fund["id"])

    # A refusal stays possible: rejecting and withdrawing ask nobody.
    assert (await flow.act(loan, "reject")).status_code == 200


async def test_a_group_resumed_from_suspension_may_be_approved_again(
    flow: Flow, groups: Groups
) -> None:
    fund = await flow.fund()
    group = await groups.create()
    loan = await flow.apply(fund, group=group)
    await change_stage(groups, group["id"], "suspended")
    assert_not_eligible(await flow.act(loan, "approve"), "suspended")

    # The registry is asked each time, never a remembered answer.
    await change_stage(groups, group["id"], "registered")
    r = await flow.act(loan, "approve")
    assert r.status_code == 200, r.text
    assert (await flow.fund_now(fund["id"]))["committed_satang"] == loan["principal_satang"]


@pytest.mark.parametrize("stage", ["suspended", "dissolved"])
async def test_disbursement_to_a_group_suspended_or_dissolved_since_approval_is_409(
    flow: Flow, groups: Groups, db: AsyncSession, stage: str
) -> None:
    fund = await flow.fund()
    group = await groups.create()
    loan = await flow.apply(fund, 200_000 * THB, group=group)
    assert (await flow.act(loan, "approve")).status_code == 200
    await change_stage(groups, group["id"], stage)
    before = await books(db, fund["id"])

    r = await flow.act(loan, "disburse", {"disbursed_on": "2025-01-15"})
    assert_not_eligible(r, stage)

    # The loan stays approved with its reservation; nothing is paid out.
    assert await books(db, fund["id"]) == before
    assert before["committed"] == 200_000 * THB and before["disbursed"] == 0
    assert before["installments"] == 0
    got = await flow.get(loan)
    assert got["status"] == "approved" and got["disbursed_on"] is None
    assert (await flow.get(loan, "/schedule"))["installments"] == []
    await flow.trial_balance(fund["id"])

    # Releasing the reservation needs no registry.
    assert (await flow.act(loan, "withdraw")).status_code == 200
    assert (await flow.fund_now(fund["id"]))["committed_satang"] == 0
    await flow.trial_balance(fund["id"])


@pytest.mark.parametrize("action", ["approve", "disburse"])
async def test_a_group_the_registry_no_longer_knows_is_409(
    flow: Flow, groups: Groups, db: AsyncSession, action: str
) -> None:
    fund = await flow.fund()
    loan = await flow.apply(fund)
    if action == "disburse":
        assert (await flow.act(loan, "approve")).status_code == 200
    # The registry never deletes a group; a loan pointing at one it does not know
    # stands for a group removed there (or records restored from elsewhere).
    await db.execute(
        text("UPDATE loans SET group_id = :g WHERE id = :l"),
        {"g": uuid.uuid4(), "l": uuid.UUID(loan["id"])},
    )
    before = await books(db, fund["id"])
    body = {"disbursed_on": "2025-01-15"} if action == "disburse" else None

    r = await flow.act(loan, action, body)
    assert_not_eligible(r, None)
    assert "no longer knows" in r.json()["detail"]
    assert await books(db, fund["id"]) == before


async def test_a_retried_approval_replays_even_after_the_group_is_suspended(
    flow: Flow, groups: Groups
) -> None:
    """The key is looked up before the registry is asked: a retry of an approval
    that went through gets its answer, not a new judgement."""
    fund = await flow.fund()
    group = await groups.create()
    loan = await flow.apply(fund, group=group)
    headers = flow.auth.with_key(flow.auth.officer())
    first = await flow.client.post(f"/v1/loans/{loan['id']}/approve", headers=headers)
    assert first.status_code == 200, first.text
    await change_stage(groups, group["id"], "suspended")

    again = await flow.client.post(f"/v1/loans/{loan['id']}/approve", headers=headers)
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert (await flow.fund_now(fund["id"]))["committed_satang"] == loan["principal_satang"]


async def _seed(session: AsyncSession, client: httpx.AsyncClient, auth: Auth) -> dict[str, Any]:
    """A fund and three loans written straight to the database: the application
    would need the registry this app cannot reach."""
    r = await client.post("/v1/funds", json=fund_body(), headers=auth.officer())
    assert r.status_code == 201, r.text
    fund = dict(r.json())
    loans: dict[str, Any] = {"fund": fund}
    for status in ("submitted", "approved", "rejected"):
        loan_id = uuid.uuid4()
        await session.execute(
            text(
                "INSERT INTO loans (id, fund_id, group_id, group_name_th, province_code,"
                " principal_satang, purpose, term_months, installment_multiple_satang, status,"
                " submitted_by, version) VALUES (:id, :f, :g, 'กลุ่มทดสอบ', '10', 30000000,"
                " 'Looms', 24, 100, :s, 'test', 1)"
            ),
            {"id": loan_id, "f": uuid.UUID(fund["id"]), "g": uuid.uuid4(), "s": status},
        )
        loans[status] = str(loan_id)
    # As if committed earlier (releases the test's savepoint, not the outer transaction).
    await session.commit()
    return loans


async def test_registry_down_at_approval_or_disbursement_is_503_and_nothing_moves(
    loans_app_registry_down: FastAPI, auth: Auth
) -> None:
    async with app_client(loans_app_registry_down) as (client, session):
        seeded = await _seed(session, client, auth)
        fund_id = seeded["fund"]["id"]
        before = await books(session, fund_id)
        for loan_id, action, body in (
            (seeded["submitted"], "approve", None),
            (seeded["approved"], "disburse", {"disbursed_on": "2025-01-15"}),
        ):
            r = await client.post(
                f"/v1/loans/{loan_id}/{action}", json=body, headers=auth.officer()
            )
            assert r.status_code == 503, r.text
            assert r.json()["type"] == "/problems/dependency-unavailable"
            assert await books(session, fund_id) == before

        # What the loan's state refuses anyway is refused without asking: the
        # answer is the state's, not the registry's outage.
        r = await client.post(f"/v1/loans/{seeded['rejected']}/approve", headers=auth.officer())
        assert r.status_code == 409, r.text
        assert r.json()["type"] == "/problems/invalid-loan-transition"
        r = await client.post(
            f"/v1/loans/{seeded['approved']}/disburse",
            json={"disbursed_on": "2999-01-01"},
            headers=auth.officer(),
        )
        assert r.status_code == 422, r.text
        r = await client.post(
            f"/v1/loans/{seeded['submitted']}/approve",
            headers={**auth.officer(), "If-Match": '"stale"'},
        )
        assert r.status_code == 412, r.text
        assert await books(session, fund_id) == before
