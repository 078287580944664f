from __future__ import annotations

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
