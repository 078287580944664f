"""The chart of accounts every fund gets, and what each money movement posts.

Every fund has its own five accounts. Balances, by normal side:

==================  ======  ======  ====================================================
account             number  normal  balance equals
==================  ======  ======  ====================================================
fund_capital        3000    credit  ``budget_satang``
available_budget    1010    debit   ``available_satang``
reserved_budget     1020    debit   ``committed_satang`` (approved, not yet disbursed)
loans_receivable    1200    debit   ``disbursed_satang - repaid_satang`` (principal out)
collections         1300    debit   ``repaid_satang`` if the fund is not revolving, else 0
==================  ======  ======  ====================================================

Postings (debit / credit), as TigerBeetle's two-phase transfers — reserve, then
post or void:

- fund opened: ``available_budget`` / ``fund_capital``, the budget;
- top-up (the budget raised): ``available_budget`` / ``fund_capital``, the amount;
- approval (reserve): ``reserved_budget`` / ``available_budget``;
- rejection of an approved loan, withdrawal, undone approval (void):
  ``available_budget`` / ``reserved_budget``;
- disbursement (post): ``loans_receivable`` / ``reserved_budget``;
- repayment: ``collections`` / ``loans_receivable``; in a revolving fund the
  money goes back to lending: ``available_budget`` / ``loans_receivable``;
- reversal of a repayment: the repayment's entry with the sides swapped.

So the debit balances always add up to the budget, and the fund's figures can
be read back from the ledger (see the trial balance).
"""

from __future__ import annotations

from dataclasses import dataclass

from otog_loan_ledger.ledger.models import AccountCode, NormalBalance


@dataclass(frozen=True)
class AccountSpec:
    code: AccountCode
    number: int
    name: str
    normal_balance: NormalBalance


CHART: tuple[AccountSpec, ...] = (
    AccountSpec(
        AccountCode.AVAILABLE_BUDGET, 1010, "Budget available to lend", NormalBalance.DEBIT
    ),
    AccountSpec(
        AccountCode.RESERVED_BUDGET, 1020, "Budget reserved for approved loans", NormalBalance.DEBIT
    ),
    AccountSpec(
        AccountCode.LOANS_RECEIVABLE, 1200, "Loans receivable (principal)", NormalBalance.DEBIT
    ),
    AccountSpec(AccountCode.COLLECTIONS, 1300, "Repayments collected", NormalBalance.DEBIT),
    AccountSpec(AccountCode.FUND_CAPITAL, 3000, "Fund capital (budget)", NormalBalance.CREDIT),
)
