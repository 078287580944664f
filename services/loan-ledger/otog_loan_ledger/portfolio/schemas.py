from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class ParBucketOut(BaseModel):
    bucket: str = Field(description="`current`, `1-30`, `31-60`, `61-90` or `90+` days past due.")
    min_days_past_due: int
    max_days_past_due: int | None
    loans: int
    outstanding_satang: int
    arrears_satang: int
    share_bps: int = Field(
        description="The bucket's share of the outstanding principal, in basis points "
        "(rounded down)."
    )


class PortfolioOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fund_id": "0b8c1d6e-3f1a-4a51-9a0e-4f1e2d3c4b5a",
                    "as_of": "2025-06-30",
                    "province_code": None,
                    "loans": 2,
                    "outstanding_satang": 40_000_000,
                    "arrears_satang": 1_250_000,
                    "at_risk_satang": 25_000_000,
                    "par_bps": 6250,
                    "buckets": [
                        {
                            "bucket": "current",
                            "min_days_past_due": 0,
                            "max_days_past_due": 0,
                            "loans": 1,
                            "outstanding_satang": 15_000_000,
                            "arrears_satang": 0,
                            "share_bps": 3750,
                        },
                        {
                            "bucket": "1-30",
                            "min_days_past_due": 1,
                            "max_days_past_due": 30,
                            "loans": 1,
                            "outstanding_satang": 25_000_000,
                            "arrears_satang": 1_250_000,
                            "share_bps": 6250,
                        },
                    ],
                }
            ]
        }
    )

    fund_id: uuid.UUID
    as_of: date
    province_code: str | None = Field(
        description="Set when the figures cover one province's loans only (a provincial "
        "client's view)."
    )
    loans: int = Field(description="Disbursed loans with principal outstanding on `as_of`.")
    outstanding_satang: int
    arrears_satang: int
    at_risk_satang: int = Field(
        description="Outstanding principal of loans at least one day past due (PAR 1)."
    )
    par_bps: int = Field(description="`at_risk / outstanding` in basis points (rounded down).")
    buckets: list[ParBucketOut]
