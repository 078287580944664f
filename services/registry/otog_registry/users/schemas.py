from __future__ import annotations

import uuid
from datetime import datetime

from otog_shared.schemas import RequestModel
from pydantic import BaseModel, ConfigDict, Field

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$"


class UserCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "somchai.k",
                    "display_name": "สมชาย ขยันดี — Somchai Khayandee",
                    "scopes": ["registry:read", "registry:write", "training:read"],
                    "province": "15",
                }
            ]
        }
    )

    username: str = Field(
        pattern=USERNAME_PATTERN,
        description="2–64 letters, digits, `.`, `_`, `@`, `-`; compared case-insensitively.",
    )
    display_name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(examples=[["registry:read"]])
    province: str | None = Field(default=None, pattern=r"^[0-9]{2}$", examples=["15"])


class PasswordSet(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"password": "ลืมไม่ได้-Forget-me-not-2569"}]}
    )

    password: str = Field(min_length=8, max_length=1024, description="At least 8 characters.")


class UserOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a1b2-7c2a-7d3e-9a1b-2c3d4e5f6a7b",
                    "username": "somchai.k",
                    "display_name": "สมชาย ขยันดี — Somchai Khayandee",
                    "scopes": ["registry:read", "registry:write", "training:read"],
                    "province": "15",
                    "has_password": True,
                    "locked_until": None,
                    "created_at": "2026-12-07T08:00:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    username: str
    display_name: str
    scopes: list[str]
    province: str | None
    has_password: bool = Field(description="Whether a password is set (sign-in possible).")
    locked_until: datetime | None = Field(description="Locked after repeated failures until.")
    created_at: datetime
