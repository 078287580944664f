from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from otog_registry.groups.stages import Stage
from otog_registry.market.schemas import Partner


class StageCount(BaseModel):
    province_code: str
    province_name_th: str
    province_name_en: str
    stage: Stage
    groups: int


class StageTotal(BaseModel):
    stage: Stage
    groups: int


class StageStats(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fiscal_year": 2568,
                    "province": None,
                    "rows": [
                        {
                            "province_code": "15",
                            "province_name_th": "อ่างทอง",
                            "province_name_en": "Ang Thong",
                            "stage": "registered",
                            "groups": 12,
                        },
                        {
                            "province_code": "15",
                            "province_name_th": "อ่างทอง",
                            "province_name_en": "Ang Thong",
                            "stage": "prototype",
                            "groups": 7,
                        },
                        {
                            "province_code": "56",
                            "province_name_th": "พะเยา",
                            "province_name_en": "Phayao",
                            "stage": "prototype",
                            "groups": 9,
                        },
                    ],
                    "totals": [
                        {"stage": "registered", "groups": 12},
                        {"stage": "prototype", "groups": 16},
                    ],
                }
            ]
        }
    )

    fiscal_year: int | None = Field(
        description="The fiscal year counted; null for the current snapshot."
    )
    province: str | None = Field(description="The province filter, if any.")
    rows: list[StageCount] = Field(description="One row per province and stage with groups.")
    totals: list[StageTotal] = Field(description="Per stage, over the provinces listed.")


class SalesCount(BaseModel):
    province_code: str
    province_name_th: str
    province_name_en: str
    partner: Partner
    links: int
    groups: int
    sales_satang: int


class SalesStats(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fiscal_year": 2568,
                    "province": "15",
                    "rows": [
                        {
                            "province_code": "15",
                            "province_name_th": "อ่างทอง",
                            "province_name_en": "Ang Thong",
                            "partner": "commerce",
                            "links": 2,
                            "groups": 1,
                            "sales_satang": 6020000,
                        },
                        {
                            "province_code": "15",
                            "province_name_th": "อ่างทอง",
                            "province_name_en": "Ang Thong",
                            "partner": "tourism",
                            "links": 1,
                            "groups": 1,
                            "sales_satang": 1500000,
                        },
                    ],
                    "sales_satang": 7520000,
                }
            ]
        }
    )

    fiscal_year: int
    province: str | None
    rows: list[SalesCount]
    sales_satang: int = Field(description="Sum over the rows, in satang.")


class ProgrammeFigures(BaseModel):
    prototype_groups: int = Field(description="Groups picked as prototypes (ต้นแบบ).")
    full_cycle_groups: int = Field(
        description="Groups in the full-cycle training: for actuals, groups that entered "
        "the `training` stage under the fiscal year."
    )
    finish_by: date = Field(description="The deadline of `finish_by_groups` (Asia/Bangkok).")
    finish_by_groups: int = Field(
        description="Groups to finish by `finish_by`: for actuals, groups that moved on from "
        "training (entered `product_development`) under the fiscal year by the end of that day."
    )


class ProgrammeTargets(ProgrammeFigures):
    source: str | None = Field(description="Where the targets were announced.")


class ProvinceProgramme(BaseModel):
    province_code: str
    province_name_th: str
    province_name_en: str
    groups: int = Field(description="Groups registered in the province, in any stage, now.")
    prototype_groups: int
    full_cycle_groups: int
    finish_by_groups: int


class ProgrammeStats(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fiscal_year": 2568,
                    "province": None,
                    "targets": {
                        "prototype_groups": 401,
                        "full_cycle_groups": 77,
                        "finish_by": "2025-03-31",
                        "finish_by_groups": 324,
                        "source": "Ministry of Labour announcement of the programme, FY2568",
                    },
                    "actuals": {
                        "prototype_groups": 2,
                        "full_cycle_groups": 1,
                        "finish_by": "2025-03-31",
                        "finish_by_groups": 0,
                    },
                    "current_stages": [
                        {"stage": "registered", "groups": 3},
                        {"stage": "prototype", "groups": 1},
                        {"stage": "training", "groups": 1},
                    ],
                    "reached_stages": [
                        {"stage": "prototype", "groups": 2},
                        {"stage": "training", "groups": 1},
                    ],
                    "provinces": [
                        {
                            "province_code": "15",
                            "province_name_th": "อ่างทอง",
                            "province_name_en": "Ang Thong",
                            "groups": 4,
                            "prototype_groups": 1,
                            "full_cycle_groups": 1,
                            "finish_by_groups": 0,
                        },
                        {
                            "province_code": "62",
                            "province_name_th": "กำแพงเพชร",
                            "province_name_en": "Kamphaeng Phet",
                            "groups": 1,
                            "prototype_groups": 1,
                            "full_cycle_groups": 0,
                            "finish_by_groups": 0,
                        },
                    ],
                }
            ]
        }
    )

    fiscal_year: int
    province: str | None = Field(description="The province counted, if one (filter or binding).")
    targets: ProgrammeTargets | None = Field(
        description="The national targets of the fiscal year; null when none were set."
    )
    actuals: ProgrammeFigures = Field(
        description="The same figures counted from the groups (of the province, if one)."
    )
    current_stages: list[StageTotal] = Field(
        description="Groups per stage they are in now, every stage listed (0 included)."
    )
    reached_stages: list[StageTotal] = Field(
        description="Groups that entered each journey stage under the fiscal year "
        "(`registered`: registered that year)."
    )
    provinces: list[ProvinceProgramme] = Field(
        description="Per province with any group, ordered by code."
    )
