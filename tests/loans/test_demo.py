"""Demo data loads through the service layer and is safe to load again."""

from __future__ import annotations

import httpx
from otog_loan_ledger.demo import load_demo
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.loans.conftest import Auth


async def test_load_demo_is_idempotent(
    loans: httpx.AsyncClient, db: AsyncSession, auth: Auth
) -> None:
    await load_demo(db)
    await load_demo(db)
    count = await db.execute(
        text("SELECT count(*) FROM funds WHERE name = 'OTOG loan fund FY2568'")
    )
    assert count.scalar_one() == 1

    listed = (await loans.get("/v1/funds?limit=200", headers=auth.reader())).json()["items"]
    [fund] = [f for f in listed if f["name"] == "OTOG loan fund FY2568"]
    assert fund["budget_satang"] == 500_000_000 and fund["available_satang"] == 500_000_000
    assert fund["applications_close_on"] == "2025-03-31"
    assert fund["min_principal_satang"] == 5_000_000
    assert fund["max_principal_satang"] == 30_000_000
    assert fund["term_months"] == 24 and fund["revolving"] is False

    tb = (await loans.get(f"/v1/funds/{fund['id']}/trial-balance", headers=auth.reader())).json()
    assert tb["balanced"] and tb["reconciled"]
