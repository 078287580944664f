from __future__ import annotations

import uuid
from datetime import date

from otog_shared.auth import Principal
from otog_shared.errors import FieldError, Forbidden, NotFound, UnprocessableEntity
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.errors import DuplicateFund
from otog_loan_ledger.funds.models import Fund
from otog_loan_ledger.funds.repository import FundRepository
from otog_loan_ledger.funds.schemas import FundCreate
from otog_loan_ledger.ledger.repository import LedgerRepository
from otog_loan_ledger.ledger.service import LedgerService


def fund_visible(principal: Principal, fund: Fund) -> bool:
    return fund.province_code is None or principal.sees_province(fund.province_code)


class FundService:
    def __init__(self, funds: FundRepository, ledger: LedgerService) -> None:
        self.funds = funds
        self.ledger = ledger

    @classmethod
    def of(cls, session: AsyncSession) -> FundService:
        return cls(FundRepository(session), LedgerService(LedgerRepository(session)))

    async def create(self, principal: Principal, body: FundCreate, today: date) -> Fund:
        # Budgets are set nationally; a provincial office lends from them.
        if principal.province is not None:
            raise Forbidden("Only a national client may create a fund.")
        self._validate(body)
        if await self.funds.get_by_name(body.name) is not None:
            raise DuplicateFund("A fund with this name exists already.")
        fund = Fund(
            id=uuid.uuid4(),
            name=body.name,
            funding_source=body.funding_source,
            province_code=body.province_code,
            budget_satang=body.budget_satang,
            committed_satang=0,
            disbursed_satang=0,
            repaid_satang=0,
            applications_open_on=body.applications_open_on,
            applications_close_on=body.applications_close_on,
            min_principal_satang=body.min_principal_satang,
            max_principal_satang=body.max_principal_satang,
            term_months=body.term_months,
            interest_rate_bps=body.interest_rate_bps,
            installment_multiple_satang=body.installment_multiple_satang,
            revolving=body.revolving,
            version=1,
            created_by=principal.client_id,
        )
        try:
            await self.funds.add(fund)
        except IntegrityError as exc:
            raise DuplicateFund("A fund with this name exists already.") from exc
        await self.ledger.open_fund(fund.id, fund.budget_satang, today, principal.client_id)
        created = await self.funds.get(fund.id)
        assert created is not None
        return created

    @staticmethod
    def _validate(body: FundCreate) -> None:
        errors: list[FieldError] = []
        if body.applications_close_on < body.applications_open_on:
            errors.append(
                FieldError(
                    field="body.applications_close_on",
                    message="must not be before applications_open_on",
                )
            )
        if body.max_principal_satang < body.min_principal_satang:
            errors.append(
                FieldError(
                    field="body.max_principal_satang", message="must not be below the minimum"
                )
            )
        if body.max_principal_satang > body.budget_satang:
            errors.append(
                FieldError(field="body.max_principal_satang", message="must not exceed the budget")
            )
        smallest = body.term_months * body.installment_multiple_satang
        if body.min_principal_satang < smallest:
            errors.append(
                FieldError(
                    field="body.min_principal_satang",
                    message=f"must be at least term_months × installment_multiple_satang "
                    f"({smallest}) so that no installment is zero",
                )
            )
        if errors:
            raise UnprocessableEntity("The fund's terms are inconsistent.", errors=errors)

    async def get(self, principal: Principal, fund_id: uuid.UUID) -> Fund:
        fund = await self.funds.get(fund_id)
        if fund is None or not fund_visible(principal, fund):
            raise NotFound("Fund not found.")
        return fund

    async def get_for_ledger(self, principal: Principal, fund_id: uuid.UUID) -> Fund:
        """The whole ledger of a fund spans every province it lends to: a provincial
        client may read it only for its own province's fund."""
        fund = await self.get(principal, fund_id)
        if principal.province is not None and fund.province_code != principal.province:
            raise Forbidden("The ledger of a national fund is open to national clients only.")
        return fund
