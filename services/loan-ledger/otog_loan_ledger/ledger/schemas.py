from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue


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
                    "top_up_id": None,
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
        description="`fund_opened`, `top_up`, `reservation`, `release`, `disbursement`, "
        "`repayment` or `repayment_reversal`."
    )
    effective_on: date = Field(description="Business date of the movement (Asia/Bangkok).")
    posted_at: datetime
    description: str
    amount_satang: int
    loan_id: uuid.UUID | None
    repayment_id: uuid.UUID | None
    top_up_id: uuid.UUID | None = Field(description="The fund top-up a `top_up` entry posts.")
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


def _account(
    code: str, number: int, name: str, normal: str, debits: int, credits: int
) -> dict[str, JsonValue]:
    balance = debits - credits if normal == "debit" else credits - debits
    return {
        "code": code,
        "number": number,
        "name": name,
        "normal_balance": normal,
        "debits_satang": debits,
        "credits_satang": credits,
        "debit_balance_satang": max(debits - credits, 0),
        "credit_balance_satang": max(credits - debits, 0),
        "balance_satang": balance,
    }


class TrialBalanceOut(BaseModel):
    # The fund of FundOut's example: 5,000,000 THB budget, 900,000 THB approved of which
    # 600,000 THB disbursed, 50,000 THB repaid; not revolving.
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fund_id": "0b8c1d6e-3f1a-4a51-9a0e-4f1e2d3c4b5a",
                    "accounts": [
                        _account(
                            "available_budget",
                            1010,
                            "Budget available to lend",
                            "debit",
                            500_000_000,
                            90_000_000,
                        ),
                        _account(
                            "reserved_budget",
                            1020,
                            "Budget reserved for approved loans",
                            "debit",
                            90_000_000,
                            60_000_000,
                        ),
                        _account(
                            "loans_receivable",
                            1200,
                            "Loans receivable (principal)",
                            "debit",
                            60_000_000,
                            5_000_000,
                        ),
                        _account(
                            "collections", 1300, "Repayments collected", "debit", 5_000_000, 0
                        ),
                        _account(
                            "fund_capital", 3000, "Fund capital (budget)", "credit", 0, 500_000_000
                        ),
                    ],
                    "total_debits_satang": 655_000_000,
                    "total_credits_satang": 655_000_000,
                    "total_debit_balances_satang": 500_000_000,
                    "total_credit_balances_satang": 500_000_000,
                    "balanced": True,
                    "reconciliation": [
                        {
                            "figure": figure,
                            "fund_satang": amount,
                            "ledger_satang": amount,
                            "matches": True,
                        }
                        for figure, amount in [
                            ("budget_satang", 500_000_000),
                            ("available_satang", 410_000_000),
                            ("committed_satang", 30_000_000),
                            ("disbursed_satang", 60_000_000),
                            ("repaid_satang", 5_000_000),
                            ("collections_satang", 5_000_000),
                        ]
                    ],
                    "reconciled": True,
                }
            ]
        }
    )

    fund_id: uuid.UUID
    accounts: list[AccountBalanceOut]
    total_debits_satang: int
    total_credits_satang: int
    total_debit_balances_satang: int
    total_credit_balances_satang: int
    balanced: bool = Field(description="Debits equal credits (always true).")
    reconciliation: list[ReconciliationOut]
    reconciled: bool = Field(description="Every fund figure equals the ledger's.")
