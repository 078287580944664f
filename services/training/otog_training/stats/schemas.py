from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TrainingFigures(BaseModel):
    sessions: int = Field(description="Sessions starting in the fiscal year, cancelled included.")
    cancelled_sessions: int
    below_minimum_sessions: int = Field(
        description="Sessions still `open` with fewer people confirmed than their minimum."
    )
    capacity: int = Field(description="Seats of the sessions not cancelled.")
    confirmed: int = Field(description="People holding a seat (confirmed or completed).")
    waitlisted: int = Field(description="People waiting for a seat.")
    fill_rate_bps: int = Field(
        description="`confirmed / capacity` in basis points (rounded down; 0 without seats)."
    )


class ProvinceTraining(TrainingFigures):
    province_code: str = Field(description="The training area (DOPA province code).")


class TrainingStats(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fiscal_year": 2568,
                    "province": None,
                    "rows": [
                        {
                            "province_code": "55",
                            "sessions": 3,
                            "cancelled_sessions": 1,
                            "below_minimum_sessions": 0,
                            "capacity": 400,
                            "confirmed": 300,
                            "waitlisted": 12,
                            "fill_rate_bps": 7500,
                        }
                    ],
                    "totals": {
                        "sessions": 3,
                        "cancelled_sessions": 1,
                        "below_minimum_sessions": 0,
                        "capacity": 400,
                        "confirmed": 300,
                        "waitlisted": 12,
                        "fill_rate_bps": 7500,
                    },
                }
            ]
        }
    )

    fiscal_year: int
    province: str | None = Field(description="The province counted, if one (filter or binding).")
    rows: list[ProvinceTraining] = Field(description="Per province with sessions, by code.")
    totals: TrainingFigures = Field(description="Over the provinces listed.")
