from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from otog_shared.schemas import ClientChosenId, RequestModel
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from otog_loan_ledger.schemas import IsoDate, LongText, Satang

LOAN_EXAMPLE: dict[str, Any] = {
    "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "fund_id": "0b8c1d6e-3f1a-4a51-9a0e-4f1e2d3c4b5a",
    "group_id": "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a",
    "group_name_th": "กลุ่มทอผ้าบ้านวิภาวดี",
    "province_code": "84",
    "principal_satang": 30_000_000,
    "purpose": "Looms and yarn for a second weaving line",
    "status": "active",
    "term_months": 24,
    "submitted_at": "2025-01-06T09:30:00+07:00",
    "decided_at": "2025-01-10T14:00:00+07:00",
    "decision_note": None,
    "disbursed_on": "2025-01-15",
    "closed_on": None,
    "as_of": "2025-06-20",
    "paid_satang": 6_250_000,
    "outstanding_satang": 23_750_000,
    "arrears_satang": 0,
    "days_past_due": 0,
    "allowed_actions": [],
    "updated_at": "2025-06-15T11:00:00+07:00",
}


class LoanApply(ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "fund_id": "0b8c1d6e-3f1a-4a51-9a0e-4f1e2d3c4b5a",
                    "group_id": "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a",
                    "principal_satang": 30_000_000,
                    "purpose": "Looms and yarn for a second weaving line",
                }
            ]
        },
    )

    fund_id: uuid.UUID
    group_id: uuid.UUID = Field(description="An occupation group known to the registry.")
    principal_satang: Satang = Field(description="Within the fund's principal range.")
    purpose: LongText


# One example note per lifecycle action, shown on each action's request body.
ACTION_NOTE_EXAMPLES: dict[str, list[JsonValue]] = {
    "approve": [{"note": "อนุมัติตามมติคณะกรรมการพิจารณาเงินกู้จังหวัด ครั้งที่ 1/2568"}],
    "reject": [{"note": "แผนธุรกิจยังไม่ครบถ้วน (business plan incomplete); may apply again"}],
    "withdraw": [{"note": "กลุ่มได้รับทุนจากแหล่งอื่นแล้ว (funded elsewhere)"}],
    "undo_approval": [{"note": "อนุมัติผิดรายการ (approved by mistake)"}],
}


class LoanActionRequest(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": ACTION_NOTE_EXAMPLES["approve"]}
    )

    note: LongText | None = Field(default=None, description="Why; kept in the loan's history.")


class DisbursementRequest(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"disbursed_on": "2025-01-15"}]}
    )

    disbursed_on: IsoDate = Field(
        description="The day the money was paid out (Asia/Bangkok); not in the future. "
        "Installment k falls due k months later."
    )
    note: LongText | None = None


class LoanOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [LOAN_EXAMPLE]})

    id: uuid.UUID
    fund_id: uuid.UUID
    group_id: uuid.UUID
    group_name_th: str
    province_code: str = Field(description="The group's province when it applied.")
    principal_satang: int
    purpose: str
    status: str = Field(
        description="`submitted`, `approved`, `active` (disbursed), `closed` (paid in full), "
        "`rejected` or `withdrawn`."
    )
    term_months: int
    submitted_at: datetime
    decided_at: datetime | None = Field(description="When it was approved or rejected.")
    decision_note: str | None
    disbursed_on: date | None
    closed_on: date | None = Field(description="The payment date that settled the loan.")
    as_of: date = Field(description="The day the figures below are for (Asia/Bangkok).")
    paid_satang: int = Field(description="Principal repaid up to `as_of`.")
    outstanding_satang: int = Field(description="Principal not yet repaid on `as_of`.")
    arrears_satang: int = Field(description="Principal due before `as_of` and not paid.")
    days_past_due: int = Field(
        description="Days since the due date of the oldest installment not fully paid, "
        "0 if none is overdue."
    )
    allowed_actions: list[str] = Field(
        description="Lifecycle actions the loan's status allows now: `approve`, `reject`, "
        "`withdraw`, `undo_approval` (`POST …/undo-approval`), `disburse`."
    )
    updated_at: datetime


class InstallmentOut(BaseModel):
    number: int
    due_on: date
    principal_satang: int
    paid_satang: int
    outstanding_satang: int
    status: str = Field(
        description="`paid`, `overdue` (due before `as_of`, not fully paid), "
        "`partially_paid` or `pending`."
    )


class ScheduleOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "loan_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                    "as_of": "2025-03-20",
                    "principal_satang": 30_000_000,
                    "installments": [
                        {
                            "number": 1,
                            "due_on": "2025-02-15",
                            "principal_satang": 1_250_000,
                            "paid_satang": 1_250_000,
                            "outstanding_satang": 0,
                            "status": "paid",
                        },
                        {
                            "number": 2,
                            "due_on": "2025-03-15",
                            "principal_satang": 1_250_000,
                            "paid_satang": 0,
                            "outstanding_satang": 1_250_000,
                            "status": "overdue",
                        },
                    ],
                }
            ]
        }
    )

    loan_id: uuid.UUID
    as_of: date
    principal_satang: int
    installments: list[InstallmentOut]


class LoanStatusChangeOut(BaseModel):
    action: str
    from_status: str | None
    to_status: str
    changed_by: str = Field(description="The API client that made the change.")
    note: str | None
    changed_at: datetime


class LoanHistoryOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "loan_id": LOAN_EXAMPLE["id"],
                    "changes": [
                        {
                            "action": "apply",
                            "from_status": None,
                            "to_status": "submitted",
                            "changed_by": "otog_5c8e1a9f3b7d2046e1c4",
                            "note": None,
                            "changed_at": "2025-01-06T09:30:00+07:00",
                        },
                        {
                            "action": "approve",
                            "from_status": "submitted",
                            "to_status": "approved",
                            "changed_by": "otog_a4d2c7e91f0b3856d7e2",
                            "note": None,
                            "changed_at": "2025-01-10T14:00:00+07:00",
                        },
                        {
                            "action": "disburse",
                            "from_status": "approved",
                            "to_status": "active",
                            "changed_by": "otog_a4d2c7e91f0b3856d7e2",
                            "note": "โอนเข้าบัญชีออมทรัพย์ของกลุ่ม",
                            "changed_at": "2025-01-15T10:02:11+07:00",
                        },
                    ],
                }
            ]
        }
    )

    loan_id: uuid.UUID
    changes: list[LoanStatusChangeOut]


class DisbursedLoanOut(LoanOut):
    """A loan just disbursed, with the schedule fixed by the disbursement."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **LOAN_EXAMPLE,
                    "as_of": "2025-01-15",
                    "paid_satang": 0,
                    "outstanding_satang": 30_000_000,
                    "schedule": {
                        "loan_id": LOAN_EXAMPLE["id"],
                        "as_of": "2025-01-15",
                        "principal_satang": 30_000_000,
                        "installments": [
                            {
                                "number": 1,
                                "due_on": "2025-02-15",
                                "principal_satang": 1_250_000,
                                "paid_satang": 0,
                                "outstanding_satang": 1_250_000,
                                "status": "pending",
                            }
                        ],
                    },
                }
            ]
        }
    )

    schedule: ScheduleOut
