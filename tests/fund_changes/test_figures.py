"""Where a repayment's money shows in its fund's figures, in both settings of
``LOANS_FUND_CHANGES``: every reader sees it at once, folded or not, and what
lowers the fund's availability folds the changes first (in-process, rolled back)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from otog_loan_ledger.funds.service import FundService
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.loans.conftest import THB, Flow


@pytest.fixture(params=[True, False], ids=["fund-changes", "fund-row"])
def fund_changes(request: pytest.FixtureRequest, loans_app: FastAPI) -> Iterator[bool]:
    settings = loans_app.state.settings
    saved = settings.fund_changes
    settings.fund_changes = request.param
    try:
        yield request.param
    finally:
        settings.fund_changes = saved


async def stored(db: AsyncSession, fund_id: str) -> tuple[int, int, int]:
    """The fund row's repaid money and version, and how many changes wait to be folded."""
    row = (
        await db.execute(
            text(
                "SELECT repaid_satang, version,"
                " (SELECT count(*) FROM fund_figure_changes WHERE fund_id = :id)"
                " FROM funds WHERE id = :id"
            ),
            {"id": fund_id},
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def seen(flow: Flow, fund_id: str) -> tuple[dict[str, Any], str]:
    """The fund as GET, the list, the dashboard and the trial balance show it, all equal."""
    r = await flow.client.get(f"/v1/funds/{fund_id}", headers=flow.auth.reader())
    assert r.status_code == 200, r.text
    fund = dict(r.json())
    listed = await flow.client.get("/v1/funds", params={"limit": 200}, headers=flow.auth.reader())
    [in_list] = [f for f in listed.json()["items"] if f["id"] == fund_id]
    stats = await flow.client.get("/v1/stats/loans", headers=flow.auth.reader())
    [in_stats] = [f for f in stats.json()["funds"] if f["fund_id"] == fund_id]
    tb = await flow.trial_balance(fund_id)
    from_ledger = {c["figure"]: c["fund_satang"] for c in tb["reconciliation"]}
    for figure in ("committed_satang", "disbursed_satang", "repaid_satang", "available_satang"):
        assert in_list[figure] == in_stats[figure] == from_ledger[figure] == fund[figure], figure
    return fund, r.headers["ETag"]


async def test_a_repayment_shows_at_once_and_the_fold_changes_no_figure(
    fund_changes: bool, flow: Flow, db: AsyncSession
) -> None:
    fund = await flow.fund(revolving=True)
    loan = await flow.active(fund, 300_000 * THB)
    _, etag = await seen(flow, fund["id"])
    repaid_before, version, _ = await stored(db, fund["id"])
    assert repaid_before == 0

    assert (await flow.repay(loan, 12_500 * THB, "2025-02-15")).status_code == 201
    # Appended beside the row, or added to it, as the setting says.
    row_repaid, row_version, unfolded = await stored(db, fund["id"])
    if fund_changes:
        assert (row_repaid, row_version, unfolded) == (0, version, 1)
    else:
        assert (row_repaid, row_version, unfolded) == (12_500 * THB, version + 1, 0)
    before, etag_before = await seen(flow, fund["id"])
    assert before["repaid_satang"] == 12_500 * THB
    assert before["available_satang"] == 5_000_000 * THB - 300_000 * THB + 12_500 * THB
    assert etag_before != etag

    assert await FundService.of(db).fold_changes() == (1 if fund_changes else 0)
    assert await FundService.of(db).fold_changes() == 0
    assert (await stored(db, fund["id"]))[::2] == (12_500 * THB, 0)
    after, etag_after = await seen(flow, fund["id"])
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
    assert (etag_after != etag_before) == fund_changes

    # Another repayment after the fold: the row and the change add up again.
    assert (await flow.repay(loan, 10_000 * THB, "2025-03-15")).status_code == 201
    again, _ = await seen(flow, fund["id"])
    assert again["repaid_satang"] == 22_500 * THB


async def test_what_lowers_the_available_money_folds_first(
    fund_changes: bool, flow: Flow, db: AsyncSession
) -> None:
    # Room for the first loan only, until its repayments come back.
    fund = await flow.fund(revolving=True, budget_satang=300_000 * THB)
    loan = await flow.active(fund, 300_000 * THB)
    first = (await flow.repay(loan, 60_000 * THB, "2025-02-15")).json()
    assert (await flow.repay(loan, 40_000 * THB, "2025-03-15")).status_code == 201
    assert (await stored(db, fund["id"]))[2] == (2 if fund_changes else 0)

    # The approval counts the unfolded repayments under the fund's lock: 100,000
    # THB exactly, and one satang more is refused.
    big = await flow.apply(fund, 100_000 * THB + 100)
    refused = await flow.act(big, "approve")
    assert refused.status_code == 409, refused.text
    assert refused.json()["available_satang"] == 100_000 * THB
    second = await flow.apply(fund, 100_000 * THB)
    assert (await flow.act(second, "approve")).status_code == 200
    assert (await stored(db, fund["id"]))[::2] == (100_000 * THB, 0)
    figures, _ = await seen(flow, fund["id"])
    assert figures["available_satang"] == 0

    # The money of the first repayment is lent again: its reversal would take the
    # fund over its budget. A new repayment, unfolded, makes room; the reversal
    # folds it and goes through.
    path = f"/v1/loans/{loan['id']}/repayments/{first['id']}/reverse"
    body = {"reason": "Transfer returned by the bank"}
    over = await flow.client.post(path, json=body, headers=flow.auth.officer())
    assert over.status_code == 409, over.text
    assert over.json()["type"] == "/problems/budget-exceeded"
    assert (await flow.repay(loan, 60_000 * THB, "2025-04-15")).status_code == 201
    assert (await stored(db, fund["id"]))[2] == (1 if fund_changes else 0)
    r = await flow.client.post(path, json=body, headers=flow.auth.officer())
    assert r.status_code == 200, r.text
    assert (await stored(db, fund["id"]))[::2] == (100_000 * THB, 0)
    figures, _ = await seen(flow, fund["id"])
    assert (figures["repaid_satang"], figures["available_satang"]) == (100_000 * THB, 0)


async def test_the_fold_job_is_registered() -> None:
    from otog_loan_ledger.jobs import JOBS, fold_fund_changes

    [job] = [j for j in JOBS if j.body is fold_fund_changes]
    assert job.cron == "* * * * *"
