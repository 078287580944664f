from __future__ import annotations

import uuid
from datetime import date, datetime

from otog_shared.schemas import ClientChosenId
from pydantic import BaseModel, ConfigDict, Field

from otog_loan_ledger.schemas import IsoDate, LongText, MediumText, ProvinceCode, Satang, ShortText


class FundCreate(ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "OTOG loan fund FY2568",
                    "funding_source": "Ministry of Labour",
                    "budget_satang": 500_000_000,
                    "applications_open_on": "2024-10-01",
                    "applications_close_on": "2025-03-31",
                    "min_principal_satang": 5_000_000,
                    "max_principal_satang": 30_000_000,
                    "term_months": 24,
                    "installment_multiple_satang": 100,
                    "revolving": False,
                }
            ]
        },
    )

    name: ShortText
    funding_source: MediumText | None = Field(
        default=None, description="Whose budget the fund lends."
    )
    province_code: ProvinceCode | None = Field(
        default=None, description="Lend only to groups of this province; national if omitted."
    )
    budget_satang: Satang = Field(description="Hard cap on what the fund may lend.")
    applications_open_on: IsoDate = Field(description="First day applications are accepted.")
    applications_close_on: IsoDate = Field(
        description="Last day applications are accepted (inclusive, Asia/Bangkok)."
    )
    min_principal_satang: Satang
    max_principal_satang: Satang
    term_months: int = Field(default=24, strict=True, ge=1, le=120)
    interest_rate_bps: int = Field(
        default=0,
        strict=True,
        ge=0,
        le=0,
        description="Annual interest in basis points. Only interest-free funds exist (0).",
    )
    installment_multiple_satang: int = Field(
        default=100,
        strict=True,
        ge=1,
        le=100_000,
        description="Installments are rounded down to a multiple of this (100 = whole baht).",
    )
    revolving: bool = Field(
        default=False,
        description="Whether repaid principal can be lent again. If not, the budget is a "
        "one-time cap.",
    )


class FundOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b8c1d6e-3f1a-4a51-9a0e-4f1e2d3c4b5a",
                    "name": "OTOG loan fund FY2568",
                    "funding_source": "Ministry of Labour",
                    "province_code": None,
                    "budget_satang": 500_000_000,
                    "committed_satang": 30_000_000,
                    "disbursed_satang": 60_000_000,
                    "repaid_satang": 5_000_000,
                    "outstanding_satang": 55_000_000,
                    "available_satang": 410_000_000,
                    "applications_open_on": "2024-10-01",
                    "applications_close_on": "2025-03-31",
                    "accepting_applications": False,
                    "min_principal_satang": 5_000_000,
                    "max_principal_satang": 30_000_000,
                    "term_months": 24,
                    "interest_rate_bps": 0,
                    "installment_multiple_satang": 100,
                    "revolving": False,
                    "created_at": "2024-10-01T09:00:00+07:00",
                    "updated_at": "2025-02-03T10:15:00+07:00",
                }
            ]
        }
    )

    id: uuid.UUID
    name: str
    funding_source: str | None
    province_code: str | None
    budget_satang: int
    committed_satang: int = Field(description="Reserved by approved loans not yet disbursed.")
    disbursed_satang: int = Field(description="Principal paid out, in total.")
    repaid_satang: int = Field(description="Principal repaid, in total (net of reversals).")
    outstanding_satang: int = Field(description="`disbursed_satang - repaid_satang`.")
    available_satang: int = Field(
        description="What can still be approved: `budget - committed - disbursed`, plus "
        "`repaid` when the fund is revolving."
    )
    applications_open_on: date
    applications_close_on: date
    accepting_applications: bool = Field(
        description="Whether today (Asia/Bangkok) is in the window."
    )
    min_principal_satang: int
    max_principal_satang: int
    term_months: int
    interest_rate_bps: int
    installment_multiple_satang: int
    revolving: bool
    created_at: datetime
    updated_at: datetime


class FundTopUpCreate(ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "amount_satang": 100_000_000,
                    "reason": "งบกลางเพิ่มเติม ปีงบประมาณ 2568 (supplementary central budget, FY2568)",
                }
            ]
        },
    )

    amount_satang: Satang = Field(
        description="Added to the budget. The budget stays at most 100,000,000,000 THB "
        "(10,000,000,000,000 satang), the ceiling of a new fund's."
    )
    reason: LongText = Field(description="Why the budget is raised (the decision, the source).")


class FundTopUpOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "2f4e6a8c-1b3d-4f5a-8c7e-9d0b1a2c3e4f",
                    "fund_id": "0b8c1d6e-3f1a-4a51-9a0e-4f1e2d3c4b5a",
                    "amount_satang": 100_000_000,
                    "reason": "งบกลางเพิ่มเติม ปีงบประมาณ 2568 (supplementary central budget, FY2568)",
                    "effective_on": "2025-02-03",
                    "journal_entry_id": "6e2d9d3f-9b8c-4d2f-8a1b-3c4d5e6f7081",
                    "created_by": "otog_a4d2c7e91f0b3856d7e2",
                    "created_at": "2025-02-03T10:15:00+07:00",
                }
            ]
        }
    )

    id: uuid.UUID
    fund_id: uuid.UUID
    amount_satang: int
    reason: str
    effective_on: date = Field(description="The business day it was posted (Asia/Bangkok).")
    journal_entry_id: uuid.UUID = Field(
        description="The `top_up` entry in the fund's ledger: available_budget debited, "
        "fund_capital credited."
    )
    created_by: str = Field(description="The API client that recorded it.")
    created_at: datetime
