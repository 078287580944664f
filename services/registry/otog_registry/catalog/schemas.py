from __future__ import annotations

import uuid
from datetime import date

from otog_shared.pagination import Page
from pydantic import BaseModel, ConfigDict, Field

from otog_registry.groups.occupations import Occupation
from otog_registry.photos.schemas import PhotoOut
from otog_registry.products.schemas import CertificationStatus, Standard


class CatalogCertification(BaseModel):
    standard: Standard
    standard_name: str | None
    number: str
    expires_on: date | None
    status: CertificationStatus


class CatalogGroup(BaseModel):
    id: uuid.UUID
    name_th: str
    name_en: str | None
    occupation: Occupation


class CatalogPlace(BaseModel):
    subdistrict_code: str
    subdistrict_name_th: str
    subdistrict_name_en: str
    district_code: str
    district_name_th: str
    district_name_en: str
    province_code: str
    province_name_th: str
    province_name_en: str


class CatalogProduct(BaseModel):
    """A product for the public showcase: the group and its place, no personal data."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "01935a2c-1f4e-7b3a-8c5d-6e7f8a9b0c1d",
                    "name_th": "พวงหรีดดอกไม้จันทน์",
                    "name_en": "Sandalwood-flower wreath",
                    "description": "พวงหรีดจากดอกไม้จันทน์ทำมือ",
                    "price_satang": 150000,
                    "unit": "ชิ้น",
                    "is_premium": True,
                    "certifications": [
                        {
                            "standard": "tcps",
                            "standard_name": None,
                            "number": "มผช. 1182/2566",
                            "expires_on": "2026-08-31",
                            "status": "valid",
                        }
                    ],
                    "group": {
                        "id": "01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b",
                        "name_th": "กลุ่มดอกไม้จันทน์และพวงหรีดย่านซื่อ",
                        "name_en": "Yan Sue funeral flowers and wreaths group",
                        "occupation": "flowers_wreaths",
                    },
                    "place": {
                        "subdistrict_code": "150114",
                        "subdistrict_name_th": "ย่านซื่อ",
                        "subdistrict_name_en": "Yan Sue",
                        "district_code": "1501",
                        "district_name_th": "เมืองอ่างทอง",
                        "district_name_en": "Mueang Ang Thong",
                        "province_code": "15",
                        "province_name_th": "อ่างทอง",
                        "province_name_en": "Ang Thong",
                    },
                }
            ]
        }
    )

    id: uuid.UUID
    name_th: str
    name_en: str | None
    description: str | None
    price_satang: int | None
    unit: str | None
    is_premium: bool = Field(description="A premium / soft-power product.")
    certifications: list[CatalogCertification]
    photos: list[PhotoOut] = Field(
        default_factory=list, description="Photos (`url`, `thumb_url`: public, cacheable)."
    )
    group: CatalogGroup
    place: CatalogPlace


class CatalogPage(Page[CatalogProduct]):
    pass
