from __future__ import annotations

import uuid
from datetime import date

from otog_shared.pagination import Page
from pydantic import BaseModel, Field

from otog_registry.groups.occupations import Occupation
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

    id: uuid.UUID
    name_th: str
    name_en: str | None
    description: str | None
    price_satang: int | None
    unit: str | None
    is_premium: bool = Field(description="A premium / soft-power product.")
    certifications: list[CatalogCertification]
    group: CatalogGroup
    place: CatalogPlace


class CatalogPage(Page[CatalogProduct]):
    pass
