from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from otog_loan_ledger.loans.transitions import LoanStatus
from otog_loan_ledger.portfolio.schemas import ParBucketOut


class LoanStatusCount(BaseModel):
    status: LoanStatus
    loans: int
    principal_satang: int


class LoanFigures(BaseModel):
    loans_by_status: list[LoanStatusCount] = Field(
        description="Loans per current status, every status listed (0 included)."
    )
    committed_satang: int = Field(
        description="Principal of approved loans not yet disbursed (reserved in their funds)."
    )
    disbursed_satang: int = Field(description="Principal paid out on or before `as_of`.")
    repaid_satang: int = Field(description="Repayments up to `as_of`, reversals left out.")
    outstanding_satang: int = Field(description="Principal not yet repaid on `as_of`.")
    arrears_satang: int = Field(description="Principal due before `as_of` and unpaid.")
    at_risk_satang: int = Field(
        description="Outstanding principal of loans at least one day past due (PAR 1)."
    )
    par_bps: int = Field(description="`at_risk / outstanding` in basis points (rounded down).")
    buckets: list[ParBucketOut] = Field(
        description="Loans with principal outstanding by days past due: `current`, `1-30`, "
        "`31-60`, `61-90`, `90+`."
    )


class ProvinceLoans(LoanFigures):
    province_code: str


class FundFigures(BaseModel):
    budget_satang: int
    committed_satang: int
    disbursed_satang: int
    repaid_satang: int
    available_satang: int = Field(
        description="Budget not committed nor disbursed (plus repaid principal for a "
        "revolving fund)."
    )


class FundTotals(FundFigures):
    fund_id: uuid.UUID
    name: str
    province_code: str | None = Field(description="Set for a province's own fund.")
    revolving: bool


class LoanStats(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2025-06-30",
                    "province": "15",
                    "rows": [],
                    "totals": {
                        "loans_by_status": [
                            {"status": "submitted", "loans": 1, "principal_satang": 5_000_000},
                            {"status": "approved", "loans": 0, "principal_satang": 0},
                            {"status": "active", "loans": 1, "principal_satang": 20_000_000},
                            {"status": "closed", "loans": 0, "principal_satang": 0},
                            {"status": "rejected", "loans": 0, "principal_satang": 0},
                            {"status": "withdrawn", "loans": 0, "principal_satang": 0},
                        ],
                        "committed_satang": 0,
                        "disbursed_satang": 20_000_000,
                        "repaid_satang": 2_500_000,
                        "outstanding_satang": 17_500_000,
                        "arrears_satang": 833_300,
                        "at_risk_satang": 17_500_000,
                        "par_bps": 10000,
                        "buckets": [
                            {
                                "bucket": "31-60",
                                "min_days_past_due": 31,
                                "max_days_past_due": 60,
                                "loans": 1,
                                "outstanding_satang": 17_500_000,
                                "arrears_satang": 833_300,
                                "share_bps": 10000,
                            }
                        ],
                    },
                    "funds": [],
                    "fund_totals": None,
                }
            ]
        }
    )

    as_of: date
    province: str | None = Field(description="The province counted, if one (filter or binding).")
    rows: list[ProvinceLoans] = Field(description="Per province with loans, by code.")
    totals: LoanFigures = Field(description="Over the provinces listed.")
    funds: list[FundTotals] = Field(
        description="The funds' own figures: every fund nationally; with a province "
        "(filter or binding), that province's own funds only (a national fund's figures "
        "span provinces)."
    )
    fund_totals: FundFigures | None = Field(
        description="Sum over `funds`; null when no fund is listed."
    )
