"""Loan applications and their lifecycle, with the money each step moves.

Every change to a loan starts by locking the loan's row, so two requests on one
loan run one after the other and the second sees what the first did; money
then moves with single guarded statements on the fund's row (always in that
order, loan then fund, so concurrent requests cannot deadlock).

Approval and disbursement ask the registry again whether the group may still
borrow. That call is made before either lock is taken: a lock held across a
round trip to another service would make every request queued on the loan (or,
worse, on the fund's row that all approvals share) wait for the registry too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from otog_shared import metrics
from otog_shared.auth import Principal, ensure_may_act_in
from otog_shared.errors import FieldError, NotFound, UnprocessableEntity
from otog_shared.outbox import record_event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.errors import (
    ApplicationsClosed,
    BudgetExceeded,
    GroupNoLongerEligible,
    GroupNotEligible,
    OpenLoanExists,
    PrincipalOutOfRange,
    UnknownGroup,
)
from otog_loan_ledger.funds.repository import FundRepository
from otog_loan_ledger.funds.service import fund_visible
from otog_loan_ledger.ledger.repository import LedgerRepository
from otog_loan_ledger.ledger.service import LedgerService
from otog_loan_ledger.loans.models import Installment, Loan, LoanStatusChange
from otog_loan_ledger.loans.repository import LoanRepository
from otog_loan_ledger.loans.schedule import (
    NOT_DISBURSED,
    Standing,
    build_schedule,
    fill_installments,
    standing,
)
from otog_loan_ledger.loans.schemas import LoanApply
from otog_loan_ledger.loans.transitions import LoanAction, LoanStatus, next_status
from otog_loan_ledger.registry import RegistryGateway

Precondition = Callable[[Loan], None]

OPEN_LOAN_INDEX = "uq_loans_open_per_group_fund"

APPROVALS = metrics.counter("otog_loan_approvals_total", "Loan approvals committed.")
BUDGET_REFUSALS = metrics.counter(
    "otog_loan_budget_refusals_total",
    "Approvals refused because the fund's available budget could not cover the loan.",
)

# Guarded reservations tried per approval while the budget keeps growing under it.
RESERVE_ATTEMPTS = 3

# What partners are told when a loan changes status, by the action that changed it.
# Undoing an approval and reopening a closed loan (a reversed repayment) have no event
# type of their own: the repayment reversal is published as such.
PUBLISHED_ACTIONS: dict[str, str] = {
    "apply": "loan.submitted",
    "approve": "loan.approved",
    "reject": "loan.rejected",
    "withdraw": "loan.withdrawn",
    "disburse": "loan.disbursed",
    "close": "loan.closed",
}

# An approval that takes a fund's available money under this share of its budget
# publishes ``fund.budget_low`` (once, on the crossing).
BUDGET_LOW_PERCENT = 10


@dataclass(frozen=True)
class LoanFigures:
    as_of: date
    paid_satang: int
    standing: Standing


@dataclass(frozen=True)
class InstallmentView:
    number: int
    due_on: date
    principal_satang: int
    paid_satang: int
    status: str


def now() -> datetime:
    return datetime.now(UTC)


class LoanService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.loans = LoanRepository(session)
        self.funds = FundRepository(session)
        self.ledger = LedgerService(LedgerRepository(session))

    # --- applying ---------------------------------------------------------

    async def apply(
        self, principal: Principal, body: LoanApply, registry: RegistryGateway, today: date
    ) -> Loan:
        fund = await self.funds.get(body.fund_id)
        if fund is None or not fund_visible(principal, fund):
            raise UnprocessableEntity(
                "The fund does not exist.",
                errors=[FieldError(field="body.fund_id", message="no such fund")],
            )
        if today < fund.applications_open_on:
            raise ApplicationsClosed(
                f"The fund takes applications from {fund.applications_open_on.isoformat()}.",
                applications_open_on=fund.applications_open_on.isoformat(),
            )
        if today > fund.applications_close_on:
            raise ApplicationsClosed(
                f"The fund stopped taking applications after "
                f"{fund.applications_close_on.isoformat()} (Asia/Bangkok).",
                applications_close_on=fund.applications_close_on.isoformat(),
            )
        if not fund.min_principal_satang <= body.principal_satang <= fund.max_principal_satang:
            raise PrincipalOutOfRange(
                f"The fund lends from {fund.min_principal_satang} to "
                f"{fund.max_principal_satang} satang.",
                errors=[
                    FieldError(field="body.principal_satang", message="outside the fund's range")
                ],
                min_principal_satang=fund.min_principal_satang,
                max_principal_satang=fund.max_principal_satang,
            )

        # The registry is asked before anything is written: if it is down the
        # request fails with 503 and nothing is half-done.
        group = await registry.get_group(body.group_id)
        if group is None:
            raise UnknownGroup(
                "The registry does not know this group.",
                errors=[FieldError(field="body.group_id", message="unknown group")],
            )
        ensure_may_act_in(principal, group.province_code)
        if not group.eligible:
            raise GroupNotEligible(
                f"The group is {group.status} and may not apply for a loan.",
                group_status=group.status,
            )
        if fund.province_code is not None and fund.province_code != group.province_code:
            raise UnprocessableEntity(
                f"The fund lends only to groups of province {fund.province_code}.",
                errors=[
                    FieldError(field="body.group_id", message="group outside the fund's province")
                ],
            )

        existing = await self.loans.open_loan_of(fund.id, group.id)
        if existing is not None:
            raise OpenLoanExists(
                "The group already has an open loan in this fund.", loan_id=str(existing.id)
            )
        loan = Loan(
            id=body.id or uuid.uuid4(),
            fund_id=fund.id,
            group_id=group.id,
            group_name_th=group.name_th,
            province_code=group.province_code,
            principal_satang=body.principal_satang,
            purpose=body.purpose,
            term_months=fund.term_months,
            installment_multiple_satang=fund.installment_multiple_satang,
            status=LoanStatus.SUBMITTED.value,
            submitted_by=principal.client_id,
            updated_at=now(),
        )
        try:
            await self.loans.add(loan)
        except IntegrityError as exc:
            if OPEN_LOAN_INDEX in str(exc.orig):
                raise OpenLoanExists("The group already has an open loan in this fund.") from exc
            raise
        await self.record_change(loan, "apply", None, LoanStatus.SUBMITTED, principal, None)
        return loan

    # --- reading ----------------------------------------------------------

    async def get(self, principal: Principal, loan_id: uuid.UUID) -> Loan:
        loan = await self.loans.get(loan_id)
        if loan is None or not principal.sees_province(loan.province_code):
            raise NotFound("Loan not found.")
        return loan

    async def figures(self, loans: Sequence[Loan], as_of: date) -> dict[uuid.UUID, LoanFigures]:
        """Outstanding, arrears and days past due of each loan on ``as_of``."""
        disbursed = [
            loan.id
            for loan in loans
            if loan.disbursed_on is not None and loan.disbursed_on <= as_of
        ]
        schedules = await self.loans.installments_of(disbursed)
        paid = await self.loans.paid_totals(disbursed, as_of)
        result: dict[uuid.UUID, LoanFigures] = {}
        for loan in loans:
            if loan.id not in schedules:
                result[loan.id] = LoanFigures(as_of, 0, NOT_DISBURSED)
                continue
            plan = [(i.due_on, i.principal_satang) for i in schedules[loan.id]]
            paid_total = paid.get(loan.id, 0)
            result[loan.id] = LoanFigures(as_of, paid_total, standing(plan, paid_total, as_of))
        return result

    async def schedule(
        self, principal: Principal, loan_id: uuid.UUID, as_of: date
    ) -> tuple[Loan, list[InstallmentView]]:
        loan = await self.get(principal, loan_id)
        return loan, await self.installments(loan, as_of)

    async def installments(self, loan: Loan, as_of: date) -> list[InstallmentView]:
        """The schedule with what was paid on each installment up to ``as_of``."""
        installments = await self.loans.installments(loan.id)
        if not installments:
            return []
        paid_total = (await self.loans.paid_totals([loan.id], as_of)).get(loan.id, 0)
        paid = fill_installments([i.principal_satang for i in installments], paid_total)
        views = []
        for installment, paid_on_it in zip(installments, paid, strict=True):
            if paid_on_it == installment.principal_satang:
                status = "paid"
            elif installment.due_on < as_of:
                status = "overdue"
            elif paid_on_it > 0:
                status = "partially_paid"
            else:
                status = "pending"
            views.append(
                InstallmentView(
                    number=installment.number,
                    due_on=installment.due_on,
                    principal_satang=installment.principal_satang,
                    paid_satang=paid_on_it,
                    status=status,
                )
            )
        return views

    async def history(self, principal: Principal, loan_id: uuid.UUID) -> list[LoanStatusChange]:
        loan = await self.get(principal, loan_id)
        return await self.loans.status_changes(loan.id)

    # --- the lifecycle ----------------------------------------------------

    async def approve(
        self,
        principal: Principal,
        loan_id: uuid.UUID,
        note: str | None,
        today: date,
        registry: RegistryGateway,
        precondition: Precondition | None = None,
    ) -> Loan:
        loan = await self._peek(principal, loan_id, LoanAction.APPROVE, precondition)
        await self._ensure_group_eligible(loan, registry, "approved")
        loan, before, after = await self._begin(
            principal, loan_id, LoanAction.APPROVE, precondition
        )
        loan.decided_at = now()
        loan.decided_by = principal.client_id
        loan.decision_note = note
        approved = await self._finish(loan, before, after, LoanAction.APPROVE, principal, note)
        await self.ledger.reserve(
            loan.fund_id, loan.id, loan.principal_satang, today, principal.client_id
        )
        # The fund's row last: every approval of the fund queues on its lock until
        # the commit. Under the lock, the repayments not yet in the row are folded
        # into it, so the reservation's check is exact (see FundRepository.lock).
        # When the budget cannot cover the loan, the exception rolls back the
        # steps above with the rest of the transaction.
        await self.funds.lock(loan.fund_id)
        attempts = 0
        while True:
            await self.funds.fold(loan.fund_id)
            reserved = await self.funds.reserve(loan.fund_id, loan.principal_satang)
            if reserved is not None:
                break
            fund = await self.funds.get(loan.fund_id)
            assert fund is not None
            attempts += 1
            # A repayment committed after the fold's snapshot shows here and is
            # folded on the next turn, rather than refusing with a figure that
            # says there is room.
            if fund.available_satang < loan.principal_satang or attempts == RESERVE_ATTEMPTS:
                BUDGET_REFUSALS.inc()
                raise BudgetExceeded(
                    f"The fund has {fund.available_satang} satang available; this loan "
                    f"needs {loan.principal_satang}.",
                    available_satang=fund.available_satang,
                    requested_satang=loan.principal_satang,
                )
        metrics.count_on_commit(self.session, APPROVALS)
        available, budget = reserved.available_satang, reserved.budget_satang
        low = available * 100 < budget * BUDGET_LOW_PERCENT
        was_low = (available + loan.principal_satang) * 100 < budget * BUDGET_LOW_PERCENT
        if low and not was_low:
            await record_event(
                self.session,
                "fund.budget_low",
                subject=f"/v1/funds/{loan.fund_id}",
                # Only a provincial fund has a province; a national fund's event
                # has none (see the feed's rule for such events).
                province_code=reserved.province_code,
                data={
                    "fund_id": loan.fund_id,
                    "budget_satang": budget,
                    "available_satang": available,
                    "threshold_percent": BUDGET_LOW_PERCENT,
                    "loan_id": loan.id,
                },
            )
        return approved

    async def reject(
        self,
        principal: Principal,
        loan_id: uuid.UUID,
        note: str | None,
        precondition: Precondition | None = None,
    ) -> Loan:
        loan, before, after = await self._begin(principal, loan_id, LoanAction.REJECT, precondition)
        loan.decided_at = now()
        loan.decided_by = principal.client_id
        loan.decision_note = note
        return await self._finish(loan, before, after, LoanAction.REJECT, principal, note)

    async def withdraw(
        self,
        principal: Principal,
        loan_id: uuid.UUID,
        note: str | None,
        today: date,
        precondition: Precondition | None = None,
    ) -> Loan:
        loan, before, after = await self._begin(
            principal, loan_id, LoanAction.WITHDRAW, precondition
        )
        if before is LoanStatus.APPROVED:
            await self._release(loan, today, principal, "application withdrawn")
        return await self._finish(loan, before, after, LoanAction.WITHDRAW, principal, note)

    async def undo_approval(
        self,
        principal: Principal,
        loan_id: uuid.UUID,
        note: str | None,
        today: date,
        precondition: Precondition | None = None,
    ) -> Loan:
        loan, before, after = await self._begin(
            principal, loan_id, LoanAction.UNDO_APPROVAL, precondition
        )
        await self._release(loan, today, principal, "approval undone")
        loan.decided_at = None
        loan.decided_by = None
        loan.decision_note = note
        return await self._finish(loan, before, after, LoanAction.UNDO_APPROVAL, principal, note)

    async def disburse(
        self,
        principal: Principal,
        loan_id: uuid.UUID,
        disbursed_on: date,
        note: str | None,
        today: date,
        registry: RegistryGateway,
        precondition: Precondition | None = None,
    ) -> Loan:
        loan = await self._peek(principal, loan_id, LoanAction.DISBURSE, precondition)
        if disbursed_on > today:
            raise UnprocessableEntity(
                "A disbursement cannot be recorded before it happens.",
                errors=[FieldError(field="body.disbursed_on", message="in the future")],
            )
        await self._ensure_group_eligible(loan, registry, "disbursed")
        loan, before, after = await self._begin(
            principal, loan_id, LoanAction.DISBURSE, precondition
        )
        await self.funds.disburse(loan.fund_id, loan.principal_satang)
        await self.ledger.disburse(
            loan.fund_id, loan.id, loan.principal_satang, disbursed_on, principal.client_id
        )
        plan = build_schedule(
            loan.principal_satang,
            loan.term_months,
            loan.installment_multiple_satang,
            disbursed_on,
        )
        await self.loans.add_installments(
            [
                Installment(
                    loan_id=loan.id,
                    number=p.number,
                    due_on=p.due_on,
                    principal_satang=p.principal_satang,
                    paid_satang=0,
                )
                for p in plan
            ]
        )
        loan.disbursed_on = disbursed_on
        loan.disbursed_by = principal.client_id
        return await self._finish(loan, before, after, LoanAction.DISBURSE, principal, note)

    async def _peek(
        self,
        principal: Principal,
        loan_id: uuid.UUID,
        action: LoanAction,
        precondition: Precondition | None,
    ) -> Loan:
        """The loan as it is now, read without a lock, and refused early when the
        action cannot apply, so that the registry is not asked in vain. :meth:`_begin`
        checks it all again under the lock, which is what decides."""
        loan = await self.loans.get(loan_id)
        if loan is None or not principal.sees_province(loan.province_code):
            raise NotFound("Loan not found.")
        if precondition is not None:
            precondition(loan)
        next_status(LoanStatus(loan.status), action)
        return loan

    async def _ensure_group_eligible(
        self, loan: Loan, registry: RegistryGateway, becoming: str
    ) -> None:
        """409 when the registry no longer lets the group borrow (suspended,
        dissolved, or gone); 503 when it cannot say. Called with no row locked."""
        group = await registry.get_group(loan.group_id)
        if group is None:
            raise GroupNoLongerEligible(
                f"The registry no longer knows the group that applied; the loan cannot be "
                f"{becoming}.",
                group_id=str(loan.group_id),
            )
        if not group.eligible:
            raise GroupNoLongerEligible(
                f"The group has been {group.status} since it applied; the loan cannot be "
                f"{becoming}.",
                group_id=str(loan.group_id),
                group_status=group.status,
            )

    async def _begin(
        self,
        principal: Principal,
        loan_id: uuid.UUID,
        action: LoanAction,
        precondition: Precondition | None,
    ) -> tuple[Loan, LoanStatus, LoanStatus]:
        loan = await self.loans.lock(loan_id)
        if loan is None or not principal.sees_province(loan.province_code):
            raise NotFound("Loan not found.")
        if precondition is not None:
            precondition(loan)
        before = LoanStatus(loan.status)
        return loan, before, next_status(before, action)

    async def _release(self, loan: Loan, today: date, principal: Principal, why: str) -> None:
        await self.funds.release(loan.fund_id, loan.principal_satang)
        await self.ledger.release(
            loan.fund_id, loan.id, loan.principal_satang, today, principal.client_id, why
        )

    async def _finish(
        self,
        loan: Loan,
        before: LoanStatus,
        after: LoanStatus,
        action: LoanAction,
        principal: Principal,
        note: str | None,
    ) -> Loan:
        loan.status = after.value
        loan.updated_at = now()
        await self.session.flush()
        await self.record_change(loan, action.value, before, after, principal, note)
        return loan

    async def record_change(
        self,
        loan: Loan,
        action: str,
        before: LoanStatus | None,
        after: LoanStatus,
        principal: Principal,
        note: str | None,
    ) -> None:
        await self.loans.add_status_change(
            LoanStatusChange(
                loan_id=loan.id,
                action=action,
                from_status=before.value if before else None,
                to_status=after.value,
                changed_by=principal.client_id,
                note=note,
            )
        )
        event_type = PUBLISHED_ACTIONS.get(action)
        if event_type is not None:
            await record_event(
                self.session,
                event_type,
                subject=f"/v1/loans/{loan.id}",
                province_code=loan.province_code,
                data={
                    "loan_id": loan.id,
                    "fund_id": loan.fund_id,
                    "group_id": loan.group_id,
                    "status": after.value,
                    "previous_status": before.value if before else None,
                    "principal_satang": loan.principal_satang,
                    "term_months": loan.term_months,
                    "disbursed_on": loan.disbursed_on,
                    "closed_on": loan.closed_on,
                },
            )
