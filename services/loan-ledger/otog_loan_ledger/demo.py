"""Demo data: the programme's loan fund, seeded through the service layer.

Safe to run on every start, by several processes at once: it takes a
transaction-scoped advisory lock, then creates only what is missing.
"""

from __future__ import annotations

from datetime import date

from otog_shared.auth import Principal
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.clock import bangkok_today
from otog_loan_ledger.funds.repository import FundRepository
from otog_loan_ledger.funds.schemas import FundCreate
from otog_loan_ledger.funds.service import FundService

THB = 100  # satang

DEMO_FUND = FundCreate(
    name="OTOG loan fund FY2568",
    funding_source="Ministry of Labour (กระทรวงแรงงาน)",
    budget_satang=5_000_000 * THB,
    # Thai fiscal year 2568 starts on 1 October 2024; applications close on 31 March.
    applications_open_on=date(2024, 10, 1),
    applications_close_on=date(2025, 3, 31),
    min_principal_satang=50_000 * THB,
    max_principal_satang=300_000 * THB,
    term_months=24,
    interest_rate_bps=0,
    installment_multiple_satang=100,
    revolving=False,
)

DEMO_PRINCIPAL = Principal(client_id="demo-data", scopes=frozenset({"admin"}), province=None)


async def load_demo(session: AsyncSession) -> None:
    """Create the demo fund unless it exists. The caller commits."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('otog-loans-demo', 0))")
    )
    if await FundRepository(session).get_by_name(DEMO_FUND.name) is not None:
        return
    await FundService.of(session).create(DEMO_PRINCIPAL, DEMO_FUND, bangkok_today())
