from __future__ import annotations

import uuid
from datetime import date, datetime

from otog_shared.schemas import ClientChosenId, RequestModel
from pydantic import BaseModel, ConfigDict, Field

from otog_loan_ledger.schemas import IsoDate, LongText, Satang, ShortText


class RepaymentCreate(ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"amount_satang": 1_250_000, "paid_on": "2025-02-14", "reference": "RCPT-2568-0042"}
            ]
        },
    )

    amount_satang: Satang = Field(description="Not more than the loan's outstanding principal.")
    paid_on: IsoDate = Field(
        description="The day the money was received (Asia/Bangkok): not before the "
        "disbursement, not in the future."
    )
    reference: ShortText | None = Field(
        default=None, description="Receipt or bank transfer reference."
    )


class RepaymentReversalRequest(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Cheque bounced"}]}
    )

    reason: LongText


class AllocationOut(BaseModel):
    installment_number: int
    amount_satang: int


class ReversalOut(BaseModel):
    reason: str
    reversed_on: date
    reversed_at: datetime


class RepaymentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "7e6d5c4b-3a29-4187-9f6e-5d4c3b2a1908",
                    "loan_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                    "amount_satang": 1_500_000,
                    "paid_on": "2025-02-14",
                    "reference": "RCPT-2568-0042",
                    "status": "posted",
                    "allocations": [
                        {"installment_number": 1, "amount_satang": 1_250_000},
                        {"installment_number": 2, "amount_satang": 250_000},
                    ],
                    "reversal": None,
                    "recorded_at": "2025-02-14T15:20:00+07:00",
                    "loan_status": "active",
                    "loan_outstanding_satang": 28_500_000,
                }
            ]
        }
    )

    id: uuid.UUID
    loan_id: uuid.UUID
    amount_satang: int
    paid_on: date
    reference: str | None
    status: str = Field(description="`posted`, or `reversed` (it then counts for nothing).")
    allocations: list[AllocationOut] = Field(
        description="Which installments the money went to, oldest unpaid first. Recomputed "
        "when an earlier repayment is reversed or a back-dated one is recorded."
    )
    reversal: ReversalOut | None
    recorded_at: datetime
    loan_status: str = Field(description="The loan's status after this request.")
    loan_outstanding_satang: int = Field(description="The loan's outstanding principal now.")
