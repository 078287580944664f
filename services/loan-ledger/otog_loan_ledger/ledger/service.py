"""Posting to the ledger, and reading it back as a trial balance.

Callers post inside the request's transaction, next to the change of the
fund's figures the entry records, so the two are committed together or not
at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from otog_shared.context import request_id_var

from otog_loan_ledger.ledger.chart import CHART
from otog_loan_ledger.ledger.models import AccountCode, EntryKind, JournalEntry, LedgerAccount
from otog_loan_ledger.ledger.repository import LedgerRepository, LedgerSnapshot

AC = AccountCode


@dataclass(frozen=True)
class AccountBalance:
    code: str
    number: int
    name: str
    normal_balance: str
    debits_satang: int
    credits_satang: int

    @property
    def debit_balance_satang(self) -> int:
        return max(self.debits_satang - self.credits_satang, 0)

    @property
    def credit_balance_satang(self) -> int:
        return max(self.credits_satang - self.debits_satang, 0)

    @property
    def balance_satang(self) -> int:
        """The balance on the account's normal side (negative if on the other side)."""
        if self.normal_balance == "debit":
            return self.debits_satang - self.credits_satang
        return self.credits_satang - self.debits_satang


@dataclass(frozen=True)
class Reconciliation:
    figure: str
    fund_satang: int
    ledger_satang: int

    @property
    def matches(self) -> bool:
        return self.fund_satang == self.ledger_satang


@dataclass(frozen=True)
class TrialBalance:
    fund_id: uuid.UUID
    accounts: list[AccountBalance]
    reconciliation: list[Reconciliation]

    @property
    def total_debits_satang(self) -> int:
        return sum(a.debits_satang for a in self.accounts)

    @property
    def total_credits_satang(self) -> int:
        return sum(a.credits_satang for a in self.accounts)

    @property
    def total_debit_balances_satang(self) -> int:
        return sum(a.debit_balance_satang for a in self.accounts)

    @property
    def total_credit_balances_satang(self) -> int:
        return sum(a.credit_balance_satang for a in self.accounts)

    @property
    def balanced(self) -> bool:
        return (
            self.total_debits_satang == self.total_credits_satang
            and self.total_debit_balances_satang == self.total_credit_balances_satang
        )

    @property
    def reconciled(self) -> bool:
        return all(r.matches for r in self.reconciliation)


class LedgerService:
    def __init__(self, repo: LedgerRepository) -> None:
        self.repo = repo

    async def open_fund(
        self, fund_id: uuid.UUID, budget_satang: int, on: date, actor: str
    ) -> JournalEntry:
        await self.repo.add_accounts(
            [
                LedgerAccount(
                    fund_id=fund_id,
                    code=spec.code.value,
                    number=spec.number,
                    name=spec.name,
                    normal_balance=spec.normal_balance.value,
                )
                for spec in CHART
            ]
        )
        return await self.repo.add_entry(
            self._entry(
                fund_id,
                EntryKind.FUND_OPENED,
                debit=AC.AVAILABLE_BUDGET,
                credit=AC.FUND_CAPITAL,
                amount=budget_satang,
                on=on,
                actor=actor,
                description="Fund opened with its budget",
            )
        )

    async def top_up(
        self,
        fund_id: uuid.UUID,
        top_up_id: uuid.UUID,
        amount: int,
        on: date,
        actor: str,
        reason: str,
    ) -> JournalEntry:
        # The budget's source is the fund's capital, as when the fund was opened.
        return await self.repo.add_entry(
            self._entry(
                fund_id,
                EntryKind.TOP_UP,
                debit=AC.AVAILABLE_BUDGET,
                credit=AC.FUND_CAPITAL,
                amount=amount,
                on=on,
                actor=actor,
                top_up_id=top_up_id,
                description=f"Budget topped up: {reason}",
            )
        )

    async def reserve(
        self, fund_id: uuid.UUID, loan_id: uuid.UUID, amount: int, on: date, actor: str
    ) -> JournalEntry:
        return await self.repo.add_entry(
            self._entry(
                fund_id,
                EntryKind.RESERVATION,
                debit=AC.RESERVED_BUDGET,
                credit=AC.AVAILABLE_BUDGET,
                amount=amount,
                on=on,
                actor=actor,
                loan_id=loan_id,
                description="Loan approved: principal reserved",
            )
        )

    async def release(
        self,
        fund_id: uuid.UUID,
        loan_id: uuid.UUID,
        amount: int,
        on: date,
        actor: str,
        why: str,
    ) -> JournalEntry:
        return await self.repo.add_entry(
            self._entry(
                fund_id,
                EntryKind.RELEASE,
                debit=AC.AVAILABLE_BUDGET,
                credit=AC.RESERVED_BUDGET,
                amount=amount,
                on=on,
                actor=actor,
                loan_id=loan_id,
                description=f"Reservation released: {why}",
            )
        )

    async def disburse(
        self, fund_id: uuid.UUID, loan_id: uuid.UUID, amount: int, on: date, actor: str
    ) -> JournalEntry:
        return await self.repo.add_entry(
            self._entry(
                fund_id,
                EntryKind.DISBURSEMENT,
                debit=AC.LOANS_RECEIVABLE,
                credit=AC.RESERVED_BUDGET,
                amount=amount,
                on=on,
                actor=actor,
                loan_id=loan_id,
                description="Loan disbursed",
            )
        )

    def repayment_entry(
        self,
        fund_id: uuid.UUID,
        *,
        revolving: bool,
        loan_id: uuid.UUID,
        repayment_id: uuid.UUID,
        amount: int,
        on: date,
        actor: str,
    ) -> JournalEntry:
        """The entry of a repayment, for the caller to write with the repayment
        itself (``RepaymentRepository.post``)."""
        return self._entry(
            fund_id,
            EntryKind.REPAYMENT,
            debit=AC.AVAILABLE_BUDGET if revolving else AC.COLLECTIONS,
            credit=AC.LOANS_RECEIVABLE,
            amount=amount,
            on=on,
            actor=actor,
            loan_id=loan_id,
            repayment_id=repayment_id,
            description="Repayment received",
        )

    async def reverse(
        self, original: JournalEntry, on: date, actor: str, reason: str
    ) -> JournalEntry:
        return await self.repo.add_entry(
            self._entry(
                original.fund_id,
                EntryKind.REPAYMENT_REVERSAL,
                debit=AccountCode(original.credit_account),
                credit=AccountCode(original.debit_account),
                amount=original.amount_satang,
                on=on,
                actor=actor,
                loan_id=original.loan_id,
                repayment_id=original.repayment_id,
                reverses=original.id,
                description=f"Repayment reversed: {reason}",
            )
        )

    @staticmethod
    def _entry(
        fund_id: uuid.UUID,
        kind: EntryKind,
        *,
        debit: AccountCode,
        credit: AccountCode,
        amount: int,
        on: date,
        actor: str,
        description: str,
        loan_id: uuid.UUID | None = None,
        repayment_id: uuid.UUID | None = None,
        top_up_id: uuid.UUID | None = None,
        reverses: uuid.UUID | None = None,
    ) -> JournalEntry:
        return JournalEntry(
            id=uuid.uuid4(),
            fund_id=fund_id,
            kind=kind.value,
            debit_account=debit.value,
            credit_account=credit.value,
            amount_satang=amount,
            effective_on=on,
            description=description,
            loan_id=loan_id,
            repayment_id=repayment_id,
            top_up_id=top_up_id,
            reverses_entry_id=reverses,
            recorded_by=actor,
            request_id=request_id_var.get(),
        )

    async def trial_balance(self, fund_id: uuid.UUID) -> TrialBalance | None:
        snapshot = await self.repo.snapshot(fund_id)
        if snapshot is None:
            return None
        return build_trial_balance(fund_id, snapshot)


def build_trial_balance(fund_id: uuid.UUID, snapshot: LedgerSnapshot) -> TrialBalance:
    accounts = [
        AccountBalance(
            code=a.code,
            number=a.number,
            name=a.name,
            normal_balance=a.normal_balance,
            debits_satang=a.debits_satang,
            credits_satang=a.credits_satang,
        )
        for a in snapshot.accounts
    ]
    balance = {a.code: a.balance_satang for a in accounts}
    fund = snapshot.fund
    available = (
        fund.budget_satang
        - fund.committed_satang
        - fund.disbursed_satang
        + (fund.repaid_satang if fund.revolving else 0)
    )
    disbursed = snapshot.disbursed_per_ledger
    reconciliation = [
        Reconciliation("budget_satang", fund.budget_satang, balance[AC.FUND_CAPITAL]),
        Reconciliation("available_satang", available, balance[AC.AVAILABLE_BUDGET]),
        Reconciliation("committed_satang", fund.committed_satang, balance[AC.RESERVED_BUDGET]),
        Reconciliation("disbursed_satang", fund.disbursed_satang, disbursed),
        Reconciliation(
            "repaid_satang", fund.repaid_satang, disbursed - balance[AC.LOANS_RECEIVABLE]
        ),
        Reconciliation(
            "collections_satang",
            0 if fund.revolving else fund.repaid_satang,
            balance[AC.COLLECTIONS],
        ),
    ]
    return TrialBalance(fund_id=fund_id, accounts=accounts, reconciliation=reconciliation)
