from __future__ import annotations

from pydantic import BaseModel, Field

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
    fiscal_year: int
    province: str | None
    rows: list[SalesCount]
    sales_satang: int = Field(description="Sum over the rows, in satang.")
