from __future__ import annotations

import uuid
from datetime import date, datetime

from otog_shared.pagination import Page
from otog_shared.schemas import ClientChosenId
from pydantic import BaseModel, ConfigDict, Field, field_validator

from otog_registry.fields import IsoDate, RequiredLongText, ShortText
from otog_registry.fiscal import today_in_bangkok
from otog_registry.photos.schemas import PhotoOut


class Location(BaseModel):
    """WGS 84 coordinates (as a phone's GPS gives them)."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False, examples=[14.5896])
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False, examples=[100.4550])


class VisitCreate(ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "visited_on": "2025-04-10",
                    "officer": "นายสมชาย ตรวจดี (สำนักงานแรงงานจังหวัดอ่างทอง)",
                    "progress": "ผลิตพวงหรีดได้ 200 ชิ้นต่อเดือน ออกแบบบรรจุภัณฑ์ใหม่แล้ว",
                    "progress_percent": 60,
                    "problems": ["ขาดเงินทุนหมุนเวียน", "วัตถุดิบราคาสูงขึ้น"],
                    "follow_up_actions": ["แนะนำยื่นขอกู้กองทุน", "ประสานพาณิชย์จังหวัดหาตลาด"],
                    "next_visit_on": "2025-06-10",
                }
            ]
        },
    )

    visited_on: IsoDate
    officer: ShortText | None = Field(default=None, description="Who visited (name, office).")
    progress: RequiredLongText = Field(description="What the group has achieved.")
    progress_percent: int | None = Field(
        default=None, ge=0, le=100, description="The working group's estimate, 0–100."
    )
    problems: list[ShortText] = Field(
        default_factory=list, max_length=100, description="Problems and obstacles found."
    )
    follow_up_actions: list[ShortText] = Field(default_factory=list, max_length=100)
    next_visit_on: IsoDate | None = None
    location: Location | None = Field(
        default=None,
        description="Where the visit took place, if the app knows; read only like the visit.",
    )

    @field_validator("visited_on")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        if value > today_in_bangkok():
            raise ValueError("a visit cannot be recorded before it happens")
        return value


class VisitOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01960f3a-5c21-7e8b-9a4d-2b3c4d5e6f70",
                    "group_id": "01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b",
                    "visited_on": "2025-04-10",
                    "officer": "นายสมชาย ตรวจดี (สำนักงานแรงงานจังหวัดอ่างทอง)",
                    "progress": "ผลิตพวงหรีดได้ 200 ชิ้นต่อเดือน ออกแบบบรรจุภัณฑ์ใหม่แล้ว",
                    "progress_percent": 60,
                    "problems": ["ขาดเงินทุนหมุนเวียน", "วัตถุดิบราคาสูงขึ้น"],
                    "follow_up_actions": ["แนะนำยื่นขอกู้กองทุน", "ประสานพาณิชย์จังหวัดหาตลาด"],
                    "next_visit_on": "2025-06-10",
                    "recorded_by": "otog_3f2a9c1d0b8e7a6f5d4c",
                    "created_at": "2025-04-10T16:20:00+07:00",
                }
            ]
        },
    )

    id: uuid.UUID
    group_id: uuid.UUID
    visited_on: IsoDate
    officer: str | None
    progress: str
    progress_percent: int | None
    problems: list[str]
    follow_up_actions: list[str]
    next_visit_on: date | None
    recorded_by: str | None = Field(description="Client id that recorded the visit.")
    location: Location | None = None
    photos: list[PhotoOut] = Field(default_factory=list, description="Evidence photos.")
    created_at: datetime


class VisitPage(Page[VisitOut]):
    pass
