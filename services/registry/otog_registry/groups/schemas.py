from __future__ import annotations

import uuid
from datetime import datetime

from otog_shared.pagination import Page
from otog_shared.schemas import ClientChosenId, PatchModel
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from otog_registry.fields import Email, LongText, Name, Phone, ShortText, SubdistrictCode
from otog_registry.groups.occupations import OCCUPATION_LABELS, Occupation
from otog_registry.groups.stages import Stage

GROUP_EXAMPLE: dict[str, JsonValue] = {
    "id": "01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b",
    "name_th": "กลุ่มดอกไม้จันทน์และพวงหรีดย่านซื่อ",
    "name_en": "Yan Sue funeral flowers and wreaths group",
    "status": "prototype",
    "occupation": "flowers_wreaths",
    "subdistrict_code": "150114",
    "district_code": "1501",
    "province_code": "15",
    "contact_name": "สมศรี ใจดี",
    "contact_phone": "081-234-5678",
    "contact_email": None,
    "description": "ผลิตดอกไม้จันทน์และพวงหรีดจากวัสดุธรรมชาติ",
    "created_at": "2025-01-15T03:12:45Z",
    "updated_at": "2025-02-01T08:00:00Z",
}


class GroupCreate(ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name_th": "กลุ่มดอกไม้จันทน์และพวงหรีดย่านซื่อ",
                    "name_en": "Yan Sue funeral flowers and wreaths group",
                    "subdistrict_code": "150114",
                    "occupation": "flowers_wreaths",
                    "contact_name": "สมศรี ใจดี",
                    "contact_phone": "081-234-5678",
                }
            ]
        },
    )

    name_th: Name
    name_en: Name | None = None
    subdistrict_code: SubdistrictCode
    occupation: Occupation = Field(description="See `GET /v1/groups/occupations`.")
    contact_name: ShortText | None = None
    contact_phone: Phone | None = None
    contact_email: Email | None = None
    description: LongText | None = None


class GroupUpdate(PatchModel):
    """Fields to change; omitted fields stay. `null` empties an optional field; the Thai
    name and the occupation cannot be emptied. The stage changes through
    `POST /v1/groups/{id}/stage-changes`, and a group does not move subdistrict."""

    clearable = frozenset(
        {"name_en", "contact_name", "contact_phone", "contact_email", "description"}
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "contact_name": "สมศรี ใจดี",
                    "contact_phone": "081-234-5678",
                    "contact_email": "yansue.wreaths@example.org",
                    "description": "ผลิตดอกไม้จันทน์และพวงหรีดจากวัสดุธรรมชาติ รับทำตามสั่งทั่วจังหวัดอ่างทอง",
                }
            ]
        },
    )

    name_th: Name | None = None
    name_en: Name | None = None
    occupation: Occupation | None = None
    contact_name: ShortText | None = None
    contact_phone: Phone | None = None
    contact_email: Email | None = None
    description: LongText | None = None


class GroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [GROUP_EXAMPLE]})

    id: uuid.UUID
    name_th: str
    name_en: str | None
    status: Stage = Field(
        description="The group's stage in the programme (see the `groups` tag for transitions)."
    )
    occupation: Occupation
    subdistrict_code: str
    district_code: str
    province_code: str
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    description: str | None
    created_at: datetime
    updated_at: datetime


class GroupPage(Page[GroupOut]):
    pass


class OccupationOut(BaseModel):
    code: Occupation
    name_th: str
    name_en: str
    examples: str


class OccupationList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"code": code.value, "name_th": th, "name_en": en, "examples": ex}
                        for code, (th, en, ex) in OCCUPATION_LABELS.items()
                    ]
                }
            ]
        }
    )

    items: list[OccupationOut]


class StageChangeCreate(ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"stage": "prototype", "fiscal_year": 2568, "note": "คัดเลือกเป็นต้นแบบ"}]
        },
    )

    stage: Stage
    fiscal_year: int | None = Field(
        default=None,
        ge=2500,
        le=2800,
        description=(
            "Thai fiscal year in Buddhist Era (FY2568 = 1 Oct 2024 – 30 Sep 2025); "
            "defaults to the current one in Asia/Bangkok."
        ),
    )
    note: LongText | None = None


class StageChangeOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01934f8e-8000-7d3e-9a1b-2c3d4e5f6a7b",
                    "group_id": "01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b",
                    "from_stage": "registered",
                    "to_stage": "prototype",
                    "fiscal_year": 2568,
                    "note": "คัดเลือกเป็นต้นแบบ",
                    "actor": "otog_3f2a9c1d0b8e7a6f5d4c",
                    "changed_at": "2024-11-02T04:00:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    group_id: uuid.UUID
    from_stage: Stage | None = Field(description="Null for the group's registration.")
    to_stage: Stage
    fiscal_year: int
    note: str | None
    actor: str | None = Field(description="Client id of the caller who made the change.")
    changed_at: datetime


class StageChangePage(Page[StageChangeOut]):
    pass
