from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from otog_shared.auth import Principal
from otog_shared.client_ids.service import refuse_taken_id
from otog_shared.context import request_id_var
from otog_shared.errors import FieldError, Forbidden, NotFound, UnprocessableEntity
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.errors import DuplicateFund
from otog_loan_ledger.funds.models import Fund, FundTopUp
from otog_loan_ledger.funds.repository import FundRepository
from otog_loan_ledger.funds.schemas import FundCreate, FundTopUpCreate
from otog_loan_ledger.ledger.repository import LedgerRepository
from otog_loan_ledger.ledger.service import LedgerService
from otog_loan_ledger.schemas import MAX_SATANG


def fund_visible(principal: Principal, fund: Fund) -> bool:
    return fund.province_code is None or principal.sees_province(fund.province_code)


@dataclass(frozen=True)
class TopUpView:
    top_up: FundTopUp
    journal_entry_id: uuid.UUID


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
            id=body.id or uuid.uuid4(),
            name=body.name,
            funding_source=body.funding_source,
            province_code=body.province_code,
            budget_satang=body.budget_satang,
            committed_satang=0,
            disbursed_satang=0,
            folded_repaid_satang=0,
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
            refuse_taken_id(exc)
            raise DuplicateFund("A fund with this name exists already.") from exc
        await self.ledger.open_fund(fund.id, fund.budget_satang, today, principal.client_id)
        created = await self.funds.get(fund.id)
        assert created is not None
        return created

    async def top_up(
        self, principal: Principal, fund_id: uuid.UUID, body: FundTopUpCreate, today: date
    ) -> TopUpView:
        """Raise the fund's budget: a top-up record, its journal entry, and last the
        fund's row (the row every approval of the fund updates too)."""
        # Budgets are set nationally, raised as they were set.
        if principal.province is not None:
            raise Forbidden("Only a national client may top up a fund.")
        fund = await self.get(principal, fund_id)
        if fund.budget_satang + body.amount_satang > MAX_SATANG:
            raise self._over_ceiling(fund.budget_satang)
        top_up = await self.funds.add_top_up(
            FundTopUp(
                id=body.id or uuid.uuid4(),
                fund_id=fund.id,
                amount_satang=body.amount_satang,
                reason=body.reason,
                effective_on=today,
                created_by=principal.client_id,
                request_id=request_id_var.get(),
            )
        )
        entry = await self.ledger.top_up(
            fund.id, top_up.id, body.amount_satang, today, principal.client_id, body.reason
        )
        if not await self.funds.raise_budget(fund.id, body.amount_satang, MAX_SATANG):
            # Another top-up got there first; the exception rolls back the rows above.
            current = await self.funds.get(fund.id)
            assert current is not None
            raise self._over_ceiling(current.budget_satang)
        return TopUpView(top_up, entry.id)

    async def fold_changes(self) -> int:
        """Fold every fund's unfolded repayments into its row; returns the funds folded.

        Readers add the unfolded changes up on every read, so fewer of them keeps
        reads short. Each fund's row is locked before its changes are taken (the
        rule in ``FundRepository.lock``), in the order of the funds' ids. A rerun
        folds what came since, nothing twice.
        """
        funds = await self.funds.with_changes()
        for fund_id in funds:
            await self.funds.lock(fund_id)
            await self.funds.fold(fund_id)
        return len(funds)

    @staticmethod
    def _over_ceiling(budget: int) -> UnprocessableEntity:
        return UnprocessableEntity(
            f"A fund's budget is at most {MAX_SATANG} satang; this one has {budget}.",
            errors=[
                FieldError(
                    field="body.amount_satang",
                    message=f"at most {MAX_SATANG - budget} for this fund",
                )
            ],
            budget_satang=budget,
            max_budget_satang=MAX_SATANG,
        )

    async def top_ups(
        self, principal: Principal, fund_id: uuid.UUID, *, after_seq: int | None, limit: int
    ) -> list[TopUpView]:
        fund = await self.get(principal, fund_id)
        rows = await self.funds.top_ups(fund.id, after_seq=after_seq, limit=limit)
        return [TopUpView(top_up, entry_id) for top_up, entry_id in rows]

    async def get_top_up(
        self, principal: Principal, fund_id: uuid.UUID, top_up_id: uuid.UUID
    ) -> TopUpView:
        fund = await self.get(principal, fund_id)
        row = await self.funds.top_up(fund.id, top_up_id)
        if row is None:
            raise NotFound("Top-up not found.")
        return TopUpView(*row)

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
