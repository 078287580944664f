from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from otog_shared.schemas import RequestModel
from pydantic import BaseModel, ConfigDict, Field, field_validator

from otog_training.sessions.models import SessionMode

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


class CourseCreate(RequestModel):
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
    title_th: str = Field(min_length=1, max_length=300)
    title_en: str = Field(min_length=1, max_length=300)
    provider: str = Field(
        min_length=1, max_length=300, description="Who runs it, e.g. `DSD with ETDA`."
    )
    hours: int = Field(ge=1, le=2000, description="Teaching hours.")
    modes: list[SessionMode] = Field(
        min_length=1, max_length=2, description="Modes sessions of this course may use."
    )
    description: str | None = Field(default=None, max_length=5000)

    @field_validator("modes")
    @classmethod
    def _unique_modes(cls, modes: list[SessionMode]) -> list[SessionMode]:
        if len(set(modes)) != len(modes):
            raise ValueError("modes must not repeat")
        return modes


class CourseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    title_th: str
    title_en: str
    provider: str
    hours: int
    modes: list[SessionMode]
    description: str | None
    created_at: datetime
