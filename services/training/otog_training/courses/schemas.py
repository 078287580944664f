from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, ClassVar

from otog_shared.schemas import ClientChosenId, PatchModel
from otog_shared.text import multi_line_text, one_line_text
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from otog_training.sessions.models import SessionMode

# The schema states what the validators refuse (control characters, blank titles).
if TYPE_CHECKING:
    CourseText = str
    CourseDescription = str
else:
    CourseText = one_line_text(300)
    CourseDescription = multi_line_text(5000)

CourseCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Z0-9][A-Z0-9-]{0,31}$",
        description="Short stable code: capital letters, digits and dashes.",
        examples=["EDC-PLUS"],
    ),
]


def _unique(modes: list[SessionMode]) -> list[SessionMode]:
    if len(set(modes)) != len(modes):
        raise PydanticCustomError("unique_items", "modes must not repeat")
    return modes


Modes = Annotated[
    list[SessionMode],
    Field(min_length=1, max_length=2, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique),
]


class CourseCreate(ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "SCB",
                    "title_th": "Social Commerce For Business",
                    "title_en": "Social Commerce For Business",
                    "provider": "DSD with ETDA",
                    "hours": 12,
                    "modes": ["onsite", "online"],
                    "description": "Selling through social media and chat commerce.",
                }
            ]
        },
    )

    code: CourseCode
    title_th: CourseText
    title_en: CourseText
    provider: CourseText = Field(description="Who runs it, e.g. `DSD with ETDA`.")
    hours: int = Field(ge=1, le=2000, description="Teaching hours.")
    modes: Modes = Field(description="Modes sessions of this course may use.")
    description: CourseDescription | None = None


class CourseUpdate(PatchModel):
    """Fields to change; the others stay. The `code` never changes: certificate
    numbers are made from it."""

    clearable: ClassVar[frozenset[str]] = frozenset({"description"})

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"hours": 18, "description": "Now with a day of product photography."},
                {"modes": ["onsite"], "description": None},
            ]
        },
    )

    title_th: CourseText | None = None
    title_en: CourseText | None = None
    provider: CourseText | None = None
    hours: int | None = Field(default=None, ge=1, le=2000, description="Teaching hours.")
    modes: Modes | None = Field(
        default=None,
        description=(
            "Modes sessions of this course may use. A mode still used by a session that has "
            "not ended cannot be taken away (409 `/problems/course-mode-in-use`)."
        ),
    )
    description: CourseDescription | None = Field(default=None, description="`null` removes it.")


class CourseRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0b7e2a8c-3c0e-4c1e-9d8b-5f7a1c2e4d6f",
                    "code": "EDC-PLUS",
                    "title_th": "ETDA Digital Citizen Plus (EDC Plus)",
                    "title_en": "ETDA Digital Citizen Plus (EDC Plus)",
                    "provider": "DSD with ETDA",
                    "hours": 6,
                    "modes": ["onsite", "online"],
                    "description": "Safe, confident use of digital services and online payments.",
                    "created_at": "2024-12-02T10:00:00+07:00",
                },
                {
                    "id": "2d4c6e8a-1b3d-4f5a-8c7e-9a0b1c2d3e4f",
                    "code": "CONTENT-PRO",
                    "title_th": "การสร้างคอนเทนต์ทางการตลาดบนสื่อออนไลน์แบบมือโปร",
                    "title_en": "Professional online marketing content creation",
                    "provider": "DSD with ETDA",
                    "hours": 18,
                    "modes": ["onsite"],
                    "description": None,
                    "created_at": "2024-12-02T10:05:00+07:00",
                },
            ]
        },
    )

    id: uuid.UUID
    code: str
    title_th: str
    title_en: str
    provider: str
    hours: int
    modes: list[SessionMode]
    description: str | None
    created_at: datetime
