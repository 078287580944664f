from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from otog_shared.pagination import Page
from otog_shared.schemas import ClientChosenId, PatchModel
from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from otog_registry.fields import IsoDate, LongText, Name, Reference, ShortText
from otog_registry.photos.schemas import PhotoOut

CERTIFICATION_EXAMPLE: dict[str, JsonValue] = {
    "id": "01935a2c-2b20-7d5c-8e7f-8a9b0c1d2e3f",
    "product_id": "01935a2c-1f4e-7b3a-8c5d-6e7f8a9b0c1d",
    "standard": "tcps",
    "standard_name": None,
    "number": "มผช. 1182/2566",
    "issued_on": "2023-09-01",
    "expires_on": "2026-08-31",
    "status": "valid",
    "created_at": "2025-01-20T10:45:00+07:00",
}

PRODUCT_EXAMPLE: dict[str, JsonValue] = {
    "id": "01935a2c-1f4e-7b3a-8c5d-6e7f8a9b0c1d",
    "group_id": "01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b",
    "name_th": "พวงหรีดดอกไม้จันทน์",
    "name_en": "Sandalwood-flower wreath",
    "description": "พวงหรีดจากดอกไม้จันทน์ทำมือ",
    "price_satang": 150000,
    "unit": "ชิ้น",
    "is_premium": True,
    "packaging_notes": "กล่องกระดาษรีไซเคิล พร้อมโลโก้กลุ่ม",
    "is_available": True,
    "certifications": [CERTIFICATION_EXAMPLE],
    "created_at": "2025-01-20T10:30:00+07:00",
    "updated_at": "2025-01-20T10:45:00+07:00",
}


class Standard(StrEnum):
    """``fda``: Thai FDA registration (อย.); ``tcps``: Thai Community Product Standard
    (มผช.); ``halal``, ``gap``, ``gmp``, ``organic``; ``other`` with ``standard_name``."""

    fda = "fda"
    tcps = "tcps"
    halal = "halal"
    gap = "gap"
    gmp = "gmp"
    organic = "organic"
    other = "other"


class CertificationStatus(StrEnum):
    valid = "valid"
    expired = "expired"


class ProductCreate(ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name_th": "พวงหรีดดอกไม้จันทน์",
                    "name_en": "Sandalwood-flower wreath",
                    "description": "พวงหรีดจากดอกไม้จันทน์ทำมือ",
                    "price_satang": 150000,
                    "unit": "ชิ้น",
                    "is_premium": True,
                    "packaging_notes": "กล่องกระดาษรีไซเคิล พร้อมโลโก้กลุ่ม",
                }
            ]
        },
    )

    name_th: Name
    name_en: Name | None = None
    description: LongText | None = None
    price_satang: int | None = Field(
        default=None, ge=0, le=10**12, description="Price in satang (1 THB = 100 satang)."
    )
    unit: ShortText | None = Field(default=None, description="Unit of sale, e.g. ชิ้น, กล่อง.")
    is_premium: bool = Field(default=False, description="A premium / soft-power product.")
    packaging_notes: LongText | None = None
    is_available: bool = Field(default=True, description="Shown in the public catalogue.")


class ProductUpdate(PatchModel):
    """Fields to change; omitted fields stay. `null` empties an optional field; the Thai
    name and the two flags cannot be emptied."""

    clearable = frozenset({"name_en", "description", "price_satang", "unit", "packaging_notes"})

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"price_satang": 180000, "is_available": True},
                {"is_available": False},
            ]
        },
    )

    name_th: Name | None = None
    name_en: Name | None = None
    description: LongText | None = None
    price_satang: int | None = Field(default=None, ge=0, le=10**12)
    unit: ShortText | None = None
    is_premium: bool | None = None
    packaging_notes: LongText | None = None
    is_available: bool | None = None


class CertificationCreate(ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "standard": "fda",
                    "number": "15-2-01163-2-0001",
                    "issued_on": "2024-06-01",
                    "expires_on": "2027-05-31",
                },
                {"standard": "tcps", "number": "มผช. 1182/2566", "issued_on": "2023-09-01"},
            ],
            # What ``_check`` says of `other`; `expires_on` before `issued_on` is a 422 that
            # JSON Schema cannot express.
            "if": {"properties": {"standard": {"const": "other"}}, "required": ["standard"]},
            "then": {
                "properties": {"standard_name": {"type": "string"}},
                "required": ["standard_name"],
            },
        },
    )

    standard: Standard
    standard_name: ShortText | None = Field(
        default=None, description="Name of the standard (required when `standard` is `other`)."
    )
    number: Reference = Field(description="Certificate or registration number.")
    issued_on: IsoDate
    expires_on: IsoDate | None = Field(default=None, description="Null for one without expiry.")

    @model_validator(mode="after")
    def _check(self) -> CertificationCreate:
        if self.expires_on is not None and self.expires_on < self.issued_on:
            raise ValueError("expires_on must not be before issued_on")
        if self.standard == Standard.other and not self.standard_name:
            raise ValueError("standard_name is required when standard is other")
        return self


class CertificationOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CERTIFICATION_EXAMPLE]})

    id: uuid.UUID
    product_id: uuid.UUID
    standard: Standard
    standard_name: str | None
    number: str
    issued_on: date
    expires_on: date | None
    status: CertificationStatus = Field(
        description="`expired` once `expires_on` has passed (Asia/Bangkok date)."
    )
    created_at: datetime


class CertificationPage(Page[CertificationOut]):
    pass


class ProductOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [PRODUCT_EXAMPLE]})

    id: uuid.UUID
    group_id: uuid.UUID
    name_th: str
    name_en: str | None
    description: str | None
    price_satang: int | None
    unit: str | None
    is_premium: bool
    packaging_notes: str | None
    is_available: bool
    certifications: list[CertificationOut]
    photos: list[PhotoOut] = Field(default_factory=list, description="Public photos.")
    created_at: datetime
    updated_at: datetime


class ProductPage(Page[ProductOut]):
    pass
