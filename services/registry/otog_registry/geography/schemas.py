from __future__ import annotations

from typing import Any

from otog_shared.pagination import Page
from pydantic import BaseModel, ConfigDict, Field

PROVINCE_EXAMPLE: dict[str, Any] = {
    "code": "15",
    "name_th": "อ่างทอง",
    "name_en": "Ang Thong",
    "region": "central",
    "latitude": 14.6128,
    "longitude": 100.3839,
}
DISTRICT_EXAMPLE: dict[str, Any] = {
    "code": "1501",
    "province_code": "15",
    "name_th": "เมืองอ่างทอง",
    "name_en": "Mueang Ang Thong",
}
SUBDISTRICT_EXAMPLE: dict[str, Any] = {
    "code": "150114",
    "district_code": "1501",
    "province_code": "15",
    "name_th": "ย่านซื่อ",
    "name_en": "Yan Sue",
    "postal_codes": ["14000"],
    "latitude": 14.619,
    "longitude": 100.447,
}


class ProvinceOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [PROVINCE_EXAMPLE]},
    )

    code: str = Field(description="2-digit DOPA province code.")
    name_th: str
    name_en: str
    region: str | None = Field(
        description="`north`, `central`, `northeast`, `west`, `east` or `south`."
    )
    latitude: float | None = Field(
        description="WGS 84: the mean of the province's subdistricts' coordinates (for "
        "Bangkok, whose khwaeng the data set lacks, the city's centre), a point to place "
        "the province on a map, not its boundary."
    )
    longitude: float | None


class DistrictOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [DISTRICT_EXAMPLE]},
    )

    code: str = Field(description="4-digit DOPA district (อำเภอ/เขต) code.")
    province_code: str
    name_th: str
    name_en: str


class SubdistrictOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [SUBDISTRICT_EXAMPLE]},
    )

    code: str = Field(description="6-digit DOPA subdistrict (ตำบล/แขวง) code.")
    district_code: str
    province_code: str
    name_th: str
    name_en: str
    postal_codes: list[str]
    latitude: float | None = Field(description="WGS 84, where the source has it.")
    longitude: float | None


class SubdistrictDetail(SubdistrictOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**SUBDISTRICT_EXAMPLE, "district": DISTRICT_EXAMPLE, "province": PROVINCE_EXAMPLE}
            ]
        }
    )

    district: DistrictOut
    province: ProvinceOut


class ProvincePage(Page[ProvinceOut]):
    pass


class DistrictPage(Page[DistrictOut]):
    pass


class SubdistrictPage(Page[SubdistrictOut]):
    pass
