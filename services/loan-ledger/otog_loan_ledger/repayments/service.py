"""Repayments and their reversal.

Money goes to the oldest unpaid installment first. Partial and early payments
are fine; paying more than is outstanding is refused. A repayment is never
changed: a mistaken one is reversed by a reversing journal entry, and the
loan's installments are re-allocated from the repayments that still count.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from otog_shared import metrics
from otog_shared.auth import Principal
from otog_shared.errors import FieldError, NotFound, UnprocessableEntity
from otog_shared.outbox import record_event
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.errors import AlreadyReversed, BudgetExceeded, LoanNotActive, Overpayment
from otog_loan_ledger.funds.repository import FundRepository
from otog_loan_ledger.ledger.repository import LedgerRepository
from otog_loan_ledger.ledger.service import LedgerService
from otog_loan_ledger.loans.models import Installment, Loan
from otog_loan_ledger.loans.repository import LoanRepository
from otog_loan_ledger.loans.schedule import (
    Allocation,
    allocate,
    allocate_one,
    fill_installments,
)
from otog_loan_ledger.loans.service import RESERVE_ATTEMPTS, LoanService, now
from otog_loan_ledger.loans.transitions import LoanAction, LoanStatus, next_status
from otog_loan_ledger.repayments.models import Repayment, RepaymentReversal
from otog_loan_ledger.repayments.repository import RepaymentRepository

REPAYMENTS = metrics.counter("otog_loan_repayments_total", "Repayments recorded (committed).")
REPAID_SATANG = metrics.counter(
    "otog_loan_repaid_satang_total", "Money repaid, in satang, over the repayments recorded."
)


@dataclass(frozen=True)
class RepaymentView:
    repayment: Repayment
    reversal: RepaymentReversal | None
    allocations: list[Allocation]
    loan_status: str
    loan_outstanding_satang: int


class RepaymentService:
    def __init__(self, session: AsyncSession, *, fund_changes: bool = True) -> None:
        """``fund_changes``: the setting ``LOANS_FUND_CHANGES``, how a repayment
        reaches the fund's figures (see ``FundFigureChange``)."""
        self.session = session
        self.fund_changes = fund_changes
        self.loans = LoanRepository(session)
        self.repayments = RepaymentRepository(session)
        self.funds = FundRepository(session)
        self.ledger_repo = LedgerRepository(session)
        self.ledger = LedgerService(self.ledger_repo)
        self.loan_service = LoanService(session)

    async def repay(
        self,
        principal: Principal,
        loan_id: uuid.UUID,
        *,
        amount: int,
        paid_on: date,
        reference: str | None,
        today: date,
        repayment_id: uuid.UUID | None = None,
    ) -> RepaymentView:
        locked = await self.loans.lock_in_fund(loan_id)
        if locked is None or not principal.sees_province(locked[0].province_code):
            raise NotFound("Loan not found.")
        loan, revolving = locked
        if loan.status != LoanStatus.ACTIVE.value:
            raise LoanNotActive(
                f"Only an active loan takes repayments; this one is {loan.status}.",
                status_now=loan.status,
            )
        assert loan.disbursed_on is not None
        if paid_on > today:
            raise UnprocessableEntity(
                "A repayment cannot be recorded before it is received.",
                errors=[FieldError(field="body.paid_on", message="in the future")],
            )
        if paid_on < loan.disbursed_on:
            raise UnprocessableEntity(
                "A repayment cannot predate the disbursement.",
                errors=[FieldError(field="body.paid_on", message="before the disbursement")],
            )
        # Read after the lock: the repayments of this loan that count are final until
        # the commit, and this one comes after every one of them in their order.
        position = await self.repayments.position(loan.id, paid_on)
        principals = [i.principal_satang for i in position.installments]
        outstanding = sum(i.principal_satang - i.paid_satang for i in position.installments)
        if amount > outstanding:
            raise Overpayment(
                f"The loan has {outstanding} satang outstanding; {amount} is more than that.",
                errors=[FieldError(field="body.amount_satang", message="more than outstanding")],
                outstanding_satang=outstanding,
            )

        new_id = repayment_id or uuid.uuid4()
        paid_total = position.counted_satang + amount
        remaining = loan.principal_satang - paid_total
        shares = fill_installments(principals, paid_total)
        repayment = await self.repayments.post(
            repayment_id=new_id,
            loan=loan,
            amount_satang=amount,
            paid_on=paid_on,
            reference=reference,
            recorded_by=principal.client_id,
            entry=self.ledger.repayment_entry(
                loan.fund_id,
                revolving=revolving,
                loan_id=loan.id,
                repayment_id=new_id,
                amount=amount,
                on=paid_on,
                actor=principal.client_id,
            ),
            paid=[
                (i.number, share)
                for i, share in zip(position.installments, shares, strict=True)
                if share != i.paid_satang
            ],
            # Appended, not added to the fund's row: repayments of a fund do not
            # queue on its lock. A repayment only raises what the fund has
            # available, so approvals that do not see it yet err on the safe side.
            append_fund_change=self.fund_changes,
            # A loan that stays open changes only its version: moved on in the
            # repayment's own statement, no unit of work needed. A closing one
            # changes its state and history through the unit of work below.
            loan_moved_on_at=now() if remaining != 0 else None,
        )
        await self._publish("loan.repayment_posted", loan, repayment, outstanding_satang=remaining)
        if remaining == 0:
            last = position.last_paid_on
            loan.closed_on = paid_on if last is None or last < paid_on else last
            await self._move(loan, LoanAction.CLOSE, principal, "paid in full")
            loan.updated_at = now()
            await self.session.flush()
        # The view from what is known: a new repayment has no reversal, and its
        # money follows the repayments that count before it.
        view = RepaymentView(
            repayment=repayment,
            reversal=None,
            allocations=allocate_one(principals, position.counted_before_satang, amount),
            loan_status=loan.status,
            loan_outstanding_satang=remaining,
        )
        if not self.fund_changes:
            # Last: every repayment of the fund updates this one row, and its lock is
            # held until the commit, so the fewer statements after it the better.
            await self.funds.add_repaid(loan.fund_id, amount)
        metrics.count_on_commit(self.session, REPAYMENTS)
        metrics.count_on_commit(self.session, REPAID_SATANG, amount)
        return view

    async def reverse(
        self,
        principal: Principal,
        loan_id: uuid.UUID,
        repayment_id: uuid.UUID,
        *,
        reason: str,
        today: date,
    ) -> RepaymentView:
        loan = await self._lock(principal, loan_id)
        repayment = await self.repayments.get(loan.id, repayment_id)
        if repayment is None:
            raise NotFound("Repayment not found.")
        if (await self.repayments.reversals([repayment.id])).get(repayment.id) is not None:
            raise AlreadyReversed("This repayment has already been reversed.")
        original = await self.ledger_repo.entry_for_repayment(repayment.id)
        assert original is not None
        # A reversal lowers the fund's repaid money, and in a revolving fund what
        # it has available: like an approval, it takes the fund's row lock and
        # folds the repayments not yet in the row before its guarded update.
        await self.funds.lock(loan.fund_id)
        attempts = 0
        while True:
            await self.funds.fold(loan.fund_id)
            if await self.funds.remove_repaid(loan.fund_id, repayment.amount_satang):
                break
            fund = await self.funds.get(loan.fund_id)
            assert fund is not None
            attempts += 1
            # As for an approval: a repayment committed after the fold's snapshot
            # makes room, and is folded on the next turn.
            if fund.available_satang < repayment.amount_satang or attempts == RESERVE_ATTEMPTS:
                raise BudgetExceeded(
                    "The repaid money has already been lent again by this revolving fund; "
                    "reversing the repayment would take the fund over its budget.",
                    available_satang=fund.available_satang,
                    requested_satang=repayment.amount_satang,
                )
        await self.ledger.reverse(original, today, principal.client_id, reason)
        await self.repayments.add_reversal(
            RepaymentReversal(
                repayment_id=repayment.id,
                reason=reason,
                reversed_on=today,
                reversed_by=principal.client_id,
            )
        )
        remaining = await self._reallocate(loan, await self.loans.installments(loan.id))
        await self._publish(
            "loan.repayment_reversed", loan, repayment, outstanding_satang=remaining
        )
        if loan.status == LoanStatus.CLOSED.value:
            loan.closed_on = None
            # Out of the one-open-loan index: the group may hold a newer loan of the
            # fund by now, and a correction is never refused for that.
            loan.reopened = True
            await self._move(loan, LoanAction.REOPEN, principal, f"repayment reversed: {reason}")
        loan.updated_at = now()
        await self.session.flush()
        return await self._view(loan, repayment)

    async def get(
        self, principal: Principal, loan_id: uuid.UUID, repayment_id: uuid.UUID
    ) -> RepaymentView:
        loan = await self.loan_service.get(principal, loan_id)
        repayment = await self.repayments.get(loan.id, repayment_id)
        if repayment is None:
            raise NotFound("Repayment not found.")
        return await self._view(loan, repayment)

    async def list_for_loan(
        self, principal: Principal, loan_id: uuid.UUID, *, after_seq: int | None, limit: int
    ) -> list[RepaymentView]:
        loan = await self.loan_service.get(principal, loan_id)
        rows = await self.repayments.of_loan(loan.id, after_seq=after_seq, limit=limit)
        return await self._views(loan, rows)

    async def _lock(self, principal: Principal, loan_id: uuid.UUID) -> Loan:
        loan = await self.loans.lock(loan_id)
        if loan is None or not principal.sees_province(loan.province_code):
            raise NotFound("Loan not found.")
        return loan

    async def _reallocate(self, loan: Loan, installments: list[Installment]) -> int:
        """Bring each installment's paid amount in line with the repayments that
        count; returns what is still outstanding."""
        counted = await self.repayments.counted(loan.id)
        paid_total = sum(r.amount_satang for r in counted)
        shares = fill_installments([i.principal_satang for i in installments], paid_total)
        for installment, share in zip(installments, shares, strict=True):
            installment.paid_satang = share
        await self.session.flush()
        return loan.principal_satang - paid_total

    async def _publish(
        self, event_type: str, loan: Loan, repayment: Repayment, *, outstanding_satang: int
    ) -> None:
        await record_event(
            self.session,
            event_type,
            subject=f"/v1/loans/{loan.id}/repayments/{repayment.id}",
            province_code=loan.province_code,
            data={
                "loan_id": loan.id,
                "repayment_id": repayment.id,
                "fund_id": loan.fund_id,
                "group_id": loan.group_id,
                "amount_satang": repayment.amount_satang,
                "paid_on": repayment.paid_on,
                "outstanding_satang": outstanding_satang,
            },
        )

    async def _move(self, loan: Loan, action: LoanAction, principal: Principal, note: str) -> None:
        before = LoanStatus(loan.status)
        after = next_status(before, action)
        loan.status = after.value
        await self.loan_service.record_change(loan, action.value, before, after, principal, note)

    async def _view(self, loan: Loan, repayment: Repayment) -> RepaymentView:
        return (await self._views(loan, [repayment]))[0]

    async def _views(self, loan: Loan, rows: list[Repayment]) -> list[RepaymentView]:
        installments = await self.loans.installments(loan.id)
        counted = await self.repayments.counted(loan.id)
        principals = [i.principal_satang for i in installments]
        split = allocate(principals, [r.amount_satang for r in counted]) if principals else []
        by_id = {r.id: parts for r, parts in zip(counted, split, strict=True)}
        reversals = await self.repayments.reversals([r.id for r in rows])
        outstanding = loan.principal_satang - sum(r.amount_satang for r in counted)
        if loan.disbursed_on is None:
            outstanding = 0
        return [
            RepaymentView(
                repayment=r,
                reversal=reversals.get(r.id),
                allocations=by_id.get(r.id, []),
                loan_status=loan.status,
                loan_outstanding_satang=outstanding,
            )
            for r in rows
        ]
