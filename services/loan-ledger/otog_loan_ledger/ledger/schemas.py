from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class LedgerLineOut(BaseModel):
    account: str = Field(description="Account code, e.g. `loans_receivable`.")
    debit_satang: int
    credit_satang: int


class LedgerEntryOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5d1c8c2e-8a7b-4c1e-9f0a-2b3c4d5e6f70",
                    "seq": 42,
                    "kind": "disbursement",
                    "effective_on": "2025-01-15",
                    "posted_at": "2025-01-15T10:02:11+07:00",
                    "description": "Loan disbursed",
                    "amount_satang": 30_000_000,
                    "loan_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                    "repayment_id": None,
                    "reverses_entry_id": None,
                    "lines": [
                        {
                            "account": "loans_receivable",
                            "debit_satang": 30_000_000,
                            "credit_satang": 0,
                        },
                        {
                            "account": "reserved_budget",
                            "debit_satang": 0,
                            "credit_satang": 30_000_000,
                        },
                    ],
                }
            ]
        }
    )

    id: uuid.UUID
    seq: int = Field(description="Position in the ledger; entries are listed in this order.")
    kind: str = Field(
        description="`fund_opened`, `reservation`, `release`, `disbursement`, `repayment` or "
        "`repayment_reversal`."
    )
    effective_on: date = Field(description="Business date of the movement (Asia/Bangkok).")
    posted_at: datetime
    description: str
    amount_satang: int
    loan_id: uuid.UUID | None
    repayment_id: uuid.UUID | None
    reverses_entry_id: uuid.UUID | None = Field(
        description="The entry this one reverses (corrections never edit an entry)."
    )
    lines: list[LedgerLineOut] = Field(description="One debit and one credit of the same amount.")


class AccountBalanceOut(BaseModel):
    code: str
    number: int
    name: str
    normal_balance: str = Field(description="`debit` or `credit`.")
    debits_satang: int = Field(description="Sum of all debits to the account.")
    credits_satang: int = Field(description="Sum of all credits to the account.")
    debit_balance_satang: int
    credit_balance_satang: int
    balance_satang: int = Field(description="Balance on the account's normal side.")


class ReconciliationOut(BaseModel):
    figure: str = Field(description="The fund figure checked, e.g. `committed_satang`.")
    fund_satang: int = Field(description="As kept on the fund.")
    ledger_satang: int = Field(description="As derived from the ledger.")
    matches: bool


class TrialBalanceOut(BaseModel):
    fund_id: uuid.UUID
    accounts: list[AccountBalanceOut]
    total_debits_satang: int
    total_credits_satang: int
    total_debit_balances_satang: int
    total_credit_balances_satang: int
    balanced: bool = Field(description="Debits equal credits (always true).")
    reconciliation: list[ReconciliationOut]
    reconciled: bool = Field(description="Every fund figure equals the ledger's.")
