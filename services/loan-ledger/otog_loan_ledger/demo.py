"""Demo data: the programme's loan fund, seeded through the service layer.

Safe to run on every start, by several processes at once: it takes a
transaction-scoped advisory lock, then creates only what is missing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from otog_shared.auth import Principal
from otog_shared.fiscal import BUDDHIST_ERA_OFFSET, fiscal_year_of
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.clock import bangkok_today
from otog_loan_ledger.funds.repository import FundRepository
from otog_loan_ledger.funds.schemas import FundCreate
from otog_loan_ledger.funds.service import FundService
from otog_loan_ledger.loans.models import Loan
from otog_loan_ledger.loans.schemas import LoanApply
from otog_loan_ledger.loans.service import LoanService
from otog_loan_ledger.registry import RegistryGateway, RegistryGroup
from otog_loan_ledger.repayments.service import RepaymentService

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


# --- the programme console ----------------------------------------------------------


class KnownGroups(RegistryGateway):
    """The registry's answer about the demo groups, read from the registry by the demo
    step a moment before (the demo runs outside any service, without the service's
    registry credentials)."""

    def __init__(self, groups: Sequence[Mapping[str, Any]]) -> None:
        self.groups = {
            uuid.UUID(str(g["id"])): RegistryGroup(
                id=uuid.UUID(str(g["id"])),
                name_th=str(g["name_th"]),
                name_en=g.get("name_en"),
                status=str(g["status"]),
                province_code=str(g["province_code"]),
                district_code=g.get("district_code"),
                subdistrict_code=g.get("subdistrict_code"),
            )
            for g in groups
        }

    async def get_group(self, group_id: uuid.UUID) -> RegistryGroup | None:
        return self.groups.get(group_id)


def fiscal_fund(year: int) -> FundCreate:
    """The programme's fund of a fiscal year: applications from 1 October to 31 March."""
    end = year - BUDDHIST_ERA_OFFSET
    return DEMO_FUND.model_copy(
        update={
            "name": f"OTOG loan fund FY{year}",
            "applications_open_on": date(end - 1, 10, 1),
            "applications_close_on": date(end, 3, 31),
        }
    )


def _months_before(day: date, months: int) -> date:
    month = day.year * 12 + day.month - 1 - months
    return date(month // 12, month % 12 + 1, min(day.day, 28))


# Loans of last year's fund, by days past due today: paid up, each PAR bucket, and one
# repaid in full (closed).
PAST_DUE_DAYS: tuple[int | None, ...] = (0, 0, 15, 45, 75, 150, 300, None)
PRINCIPALS = (300_000, 150_000, 80_000, 200_000, 120_000, 250_000, 50_000, 100_000)
# This year's applications: (where each has got to, principal in baht).
THIS_YEAR = (
    ("submitted", 120_000),
    ("submitted", 300_000),
    ("submitted", 75_000),
    ("approved", 250_000),
    ("approved", 90_000),
    ("rejected", 180_000),
    ("withdrawn", 60_000),
    ("active", 200_000),
    ("active", 140_000),
)


async def load_console_demo(
    session: AsyncSession, groups: Sequence[Mapping[str, Any]], today: date | None = None
) -> None:
    """Loans of the demo groups in every status: last fiscal year's fund with loans
    disbursed months ago, some paid up, others overdue in each PAR bucket, one
    repaid in full; this year's fund with applications submitted, approved (money
    committed), rejected, withdrawn and freshly disbursed. Made once (by fund)."""
    today = today or bangkok_today()
    await load_demo(session)
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('otog-loans-demo', 1))")
    )
    year = fiscal_year_of(today)
    funds = FundRepository(session)
    if await funds.get_by_name(fiscal_fund(year).name) is not None:
        return
    registry = KnownGroups(groups)
    eligible = [g for g in registry.groups.values() if g.eligible]
    loans = LoanService(session)
    repayments = RepaymentService(session)
    fund_service = FundService.of(session)
    last_year = fiscal_fund(year - 1)
    past = await funds.get_by_name(last_year.name) or await fund_service.create(
        DEMO_PRINCIPAL, last_year, last_year.applications_open_on
    )
    current = await fund_service.create(
        DEMO_PRINCIPAL,
        fiscal_fund(year),
        min(today, fiscal_fund(year).applications_close_on),
    )

    async def apply(fund_id: uuid.UUID, group: RegistryGroup, thb: int, on: date) -> Loan:
        return await loans.apply(
            DEMO_PRINCIPAL,
            LoanApply(
                fund_id=fund_id,
                group_id=group.id,
                principal_satang=thb * THB,
                purpose="ทุนหมุนเวียนซื้อวัตถุดิบและบรรจุภัณฑ์ (working capital: materials, packaging)",
            ),
            registry,
            on,
        )

    for group, days, thb in zip(eligible, PAST_DUE_DAYS, PRINCIPALS, strict=False):
        # Disbursed so that the installment now oldest unpaid fell due `days` ago,
        # inside last year's application window.
        due = today - timedelta(days=days or 0)
        months = next(
            m for m in range(1, 40) if _months_before(due, m) <= last_year.applications_close_on
        )
        disbursed_on = max(_months_before(due, months), last_year.applications_open_on)
        loan = await apply(past.id, group, thb, disbursed_on)
        await loans.approve(DEMO_PRINCIPAL, loan.id, None, disbursed_on, registry)
        await loans.disburse(DEMO_PRINCIPAL, loan.id, disbursed_on, None, today, registry)
        plan = await loans.loans.installments(loan.id)
        if days is None:
            paid = plan  # repaid in full: closed
        else:
            paid = (
                [i for i in plan if i.due_on < due]
                if days
                else [i for i in plan if i.due_on <= today]
            )
        if paid:
            await repayments.repay(
                DEMO_PRINCIPAL,
                loan.id,
                amount=sum(i.principal_satang for i in paid),
                paid_on=min(today, max(i.due_on for i in paid)),
                reference=f"DEMO-{loan.id.hex[:8]}",
                today=today,
            )

    # This year's applications, from the groups without a loan above.
    applied_on = min(today, fiscal_fund(year).applications_close_on)
    rest = eligible[len(PAST_DUE_DAYS) :]
    for group, (step, thb) in zip(rest, THIS_YEAR, strict=False):
        loan = await apply(current.id, group, thb, applied_on)
        if step in ("approved", "active", "withdrawn"):
            await loans.approve(DEMO_PRINCIPAL, loan.id, None, applied_on, registry)
        if step == "rejected":
            await loans.reject(DEMO_PRINCIPAL, loan.id, "เอกสารไม่ครบถ้วน (incomplete papers)")
        if step == "withdrawn":
            await loans.withdraw(
                DEMO_PRINCIPAL, loan.id, "กลุ่มเปลี่ยนแผน (the group changed its plan)", today
            )
        if step == "active":
            await loans.disburse(
                DEMO_PRINCIPAL,
                loan.id,
                max(applied_on, today - timedelta(days=10)),
                None,
                today,
                registry,
            )
