from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from otog_shared.pagination import Page
from otog_shared.schemas import ClientChosenId
from pydantic import BaseModel, ConfigDict, Field

from otog_registry.fields import IsoDate, LongText, ShortText


class Partner(StrEnum):
    """``interior`` (Ministry of Interior: local administration, community development,
    OTOP), ``commerce`` (trade fairs, e-commerce, standards), ``tourism`` (Tourism and
    Sports: tourist markets), ``labour`` (the Ministry of Labour's own offices),
    ``overseas`` (the Ministry's labour offices abroad)."""

    interior = "interior"
    commerce = "commerce"
    tourism = "tourism"
    labour = "labour"
    overseas = "overseas"


class MarketLinkCreate(ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "partner": "commerce",
                    "channel": "trade_fair",
                    "event": "OTOP City 2025",
                    "occurred_on": "2025-03-15",
                    "sales_satang": 4520000,
                }
            ]
        },
    )

    partner: Partner
    channel: ShortText = Field(
        description=(
            "How the group reached the market, e.g. `trade_fair`, `ecommerce`, `retail_outlet`, "
            "`tourist_market`, `otop_shop`, `export`, or your own words."
        )
    )
    event: ShortText | None = Field(default=None, description="Fair, festival or campaign.")
    occurred_on: IsoDate
    sales_satang: int | None = Field(
        default=None, ge=0, le=10**13, description="Sales made, in satang (1 THB = 100 satang)."
    )
    product_id: uuid.UUID | None = Field(default=None, description="A product of the group.")
    note: LongText | None = None


class MarketLinkOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01959a41-3e7d-7f12-8b6c-4d5e6f708192",
                    "group_id": "01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b",
                    "product_id": "01935a2c-1f4e-7b3a-8c5d-6e7f8a9b0c1d",
                    "partner": "commerce",
                    "channel": "trade_fair",
                    "event": "OTOP City 2025",
                    "occurred_on": "2025-03-15",
                    "sales_satang": 4520000,
                    "note": "ขายพวงหรีดและดอกไม้จันทน์ได้ 30 ชุด",
                    "recorded_by": "otog_2e1e4bd4de3233ebca71",
                    "created_at": "2025-03-16T09:05:00+07:00",
                }
            ]
        },
    )

    id: uuid.UUID
    group_id: uuid.UUID
    product_id: uuid.UUID | None
    partner: Partner
    channel: str
    event: str | None
    occurred_on: date
    sales_satang: int | None
    note: str | None
    recorded_by: str | None = Field(description="Client id of the partner that recorded it.")
    created_at: datetime


class MarketLinkPage(Page[MarketLinkOut]):
    pass


class PartnerSummary(BaseModel):
    partner: Partner
    links: int
    sales_satang: int


class MarketSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "group_id": "01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b",
                    "fiscal_year": 2568,
                    "links": 3,
                    "sales_satang": 7520000,
                    "first_on": "2024-11-02",
                    "last_on": "2025-03-15",
                    "by_partner": [
                        {"partner": "commerce", "links": 2, "sales_satang": 6020000},
                        {"partner": "tourism", "links": 1, "sales_satang": 1500000},
                    ],
                }
            ]
        }
    )

    group_id: uuid.UUID
    fiscal_year: int | None = Field(description="The fiscal year summarised; null for all time.")
    links: int
    sales_satang: int
    first_on: date | None
    last_on: date | None
    by_partner: list[PartnerSummary]
