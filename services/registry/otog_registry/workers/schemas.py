from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from otog_shared.errors import FieldError
from otog_shared.pagination import Page
from otog_shared.schemas import ClientChosenId, PatchModel, RequestModel
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from otog_registry.fields import IsoDate, LocalDatetime, Name, Phone, SubdistrictCode
from otog_registry.pii.national_id import NationalId


class SocialSecurity(StrEnum):
    """Social-security status: ``section_33`` employees, ``section_39`` former
    employees insuring themselves, ``section_40`` informal workers' voluntary
    insurance, ``none`` not insured, ``unknown`` not recorded."""

    none = "none"
    section_33 = "section_33"
    section_39 = "section_39"
    section_40 = "section_40"
    unknown = "unknown"


class PdpaBasis(StrEnum):
    """The lawful basis for keeping the person's data (PDPA sections 19 and 24)."""

    consent = "consent"
    contract = "contract"
    legal_obligation = "legal_obligation"
    vital_interest = "vital_interest"
    public_task = "public_task"
    legitimate_interest = "legitimate_interest"


# JSON Schema's way of saying what ``_consent_needs_time`` checks.
CONSENT_NEEDS_TIME: dict[str, JsonValue] = {
    "if": {"properties": {"pdpa_basis": {"const": "consent"}}, "required": ["pdpa_basis"]},
    "then": {
        "properties": {"consent_given_at": {"type": "string"}},
        "required": ["consent_given_at"],
    },
}


def _birth_date_ok(value: date) -> date:
    if value.year < 1900:
        raise ValueError("must be in 1900 or later")
    if value > date.today():
        raise ValueError("must not be in the future")
    return value


class WorkerFields(RequestModel):
    """Fields shared by the JSON request and the CSV import."""

    model_config = ConfigDict(extra="forbid")

    first_name_th: Name = Field(examples=["สมศรี"])
    last_name_th: Name = Field(examples=["ใจดี"])
    first_name_en: Name | None = Field(default=None, examples=["Somsri"])
    last_name_en: Name | None = Field(default=None, examples=["Jaidee"])
    birth_date: IsoDate = Field(examples=["1985-04-12"])
    subdistrict_code: SubdistrictCode = Field(
        description="6-digit DOPA code of the subdistrict the person lives in."
    )
    phone: Phone | None = None
    social_security: SocialSecurity = SocialSecurity.unknown
    pdpa_basis: PdpaBasis = Field(
        default=PdpaBasis.public_task,
        description=(
            "Lawful basis for processing. Registration by a labour office is a public task; "
            "use `consent` with `consent_given_at` when the person signed a consent form."
        ),
    )
    consent_given_at: LocalDatetime | None = Field(
        default=None,
        description="When the person gave consent (required when `pdpa_basis` is `consent`).",
    )

    @field_validator("birth_date")
    @classmethod
    def _check_birth_date(cls, value: date) -> date:
        return _birth_date_ok(value)

    @model_validator(mode="after")
    def _consent_needs_time(self) -> WorkerFields:
        if self.pdpa_basis == PdpaBasis.consent and self.consent_given_at is None:
            raise ValueError("consent_given_at is required when pdpa_basis is consent")
        return self


class WorkerCreate(WorkerFields, ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "national_id": "1101700203450",
                    "first_name_th": "สมศรี",
                    "last_name_th": "ใจดี",
                    "birth_date": "1985-04-12",
                    "subdistrict_code": "150114",
                    "phone": "081-234-5678",
                    "social_security": "section_40",
                }
            ],
            **CONSENT_NEEDS_TIME,
        },
    )

    national_id: NationalId


class WorkerUpdate(PatchModel):
    """Fields to change; omitted fields stay as they are. `null` empties the English names,
    the phone and the consent time (which `consent` as the PDPA basis needs); the other
    fields cannot be emptied. The national ID never changes."""

    clearable = frozenset({"first_name_en", "last_name_en", "phone", "consent_given_at"})

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "first_name_en": "Somsri",
                    "last_name_en": "Jaidee",
                    "phone": "089-765-4321",
                    "social_security": "section_40",
                }
            ],
            # Sent with `consent`, the time may not be emptied; left out, the stored one
            # must exist (a 422 otherwise: that depends on the worker's record).
            "if": CONSENT_NEEDS_TIME["if"],
            "then": {"properties": {"consent_given_at": {"type": "string"}}},
        },
    )

    first_name_th: Name | None = None
    last_name_th: Name | None = None
    first_name_en: Name | None = None
    last_name_en: Name | None = None
    birth_date: IsoDate | None = None
    subdistrict_code: SubdistrictCode | None = None
    phone: Phone | None = None
    social_security: SocialSecurity | None = None
    pdpa_basis: PdpaBasis | None = None
    consent_given_at: LocalDatetime | None = None

    @field_validator("birth_date")
    @classmethod
    def _check_birth_date(cls, value: date | None) -> date | None:
        return _birth_date_ok(value) if value is not None else None

    @model_validator(mode="after")
    def _consent_keeps_time(self) -> WorkerUpdate:
        fields = self.model_fields_set
        if (
            self.pdpa_basis == PdpaBasis.consent
            and "consent_given_at" in fields
            and self.consent_given_at is None
        ):
            raise ValueError("consent_given_at is required when pdpa_basis is consent")
        return self


class WorkerSearch(RequestModel):
    """The national ID goes in the body, never in a URL."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"national_id": "1101700203450"}]}
    )

    national_id: NationalId


class WorkerOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b",
                    "national_id_masked": "x-xxxx-xxxx3-45-0",
                    "national_id": None,
                    "first_name_th": "สมศรี",
                    "last_name_th": "ใจดี",
                    "first_name_en": "Somsri",
                    "last_name_en": "Jaidee",
                    "birth_date": "1985-04-12",
                    "subdistrict_code": "150114",
                    "district_code": "1501",
                    "province_code": "15",
                    "phone": "081-234-5678",
                    "social_security": "section_40",
                    "pdpa_basis": "public_task",
                    "consent_given_at": None,
                    "created_at": "2025-01-15T03:12:45Z",
                    "updated_at": "2025-01-15T03:12:45Z",
                }
            ]
        }
    )

    id: uuid.UUID
    national_id_masked: str = Field(description="The last four digits only.")
    national_id: str | None = Field(
        default=None, description="The full 13 digits, only for callers with `pii:read`."
    )
    first_name_th: str
    last_name_th: str
    first_name_en: str | None
    last_name_en: str | None
    birth_date: date
    subdistrict_code: str
    district_code: str
    province_code: str
    phone: str | None
    social_security: SocialSecurity
    pdpa_basis: PdpaBasis
    consent_given_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WorkerPage(Page[WorkerOut]):
    pass


class ImportRejection(BaseModel):
    line: int = Field(description="Line number in the file (the header is line 1).")
    errors: list[FieldError]


class ImportReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rows": 3,
                    "created": 1,
                    "duplicates": 1,
                    "rejected_count": 1,
                    "rejected": [
                        {
                            "line": 4,
                            "errors": [
                                {
                                    "field": "national_id",
                                    "message": "the check digit does not match",
                                }
                            ],
                        }
                    ],
                    "rejected_truncated": False,
                }
            ]
        }
    )

    rows: int = Field(description="Data rows read (the header not counted).")
    created: int = Field(description="Workers created by this import.")
    duplicates: int = Field(
        description="Valid rows for people already registered (before or earlier in the file)."
    )
    rejected_count: int = Field(description="Rows refused, all of them.")
    rejected: list[ImportRejection] = Field(
        description="The first rejected rows (at most the configured limit, 1,000 by default)."
    )
    rejected_truncated: bool = Field(description="True when `rejected` lists only the first ones.")
