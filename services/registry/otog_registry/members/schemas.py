from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from otog_shared.pagination import Page
from otog_shared.schemas import ClientChosenId
from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    leader = "leader"
    member = "member"


class MemberCreate(ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"worker_id": "01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b", "role": "leader"}]
        },
    )

    worker_id: uuid.UUID
    role: Role = Role.member


class MemberWorker(BaseModel):
    """Enough of the worker to recognise them; the rest is at `GET /v1/workers/{id}`."""

    first_name_th: str
    last_name_th: str
    national_id_masked: str


class MemberOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "01934f8e-9000-7d3e-9a1b-2c3d4e5f6a7b",
                    "group_id": "01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b",
                    "worker_id": "01934f8e-8000-7d3e-9a1b-2c3d4e5f6a7b",
                    "role": "leader",
                    "joined_at": "2025-01-15T03:12:45Z",
                    "left_at": None,
                    "worker": {
                        "first_name_th": "สมศรี",
                        "last_name_th": "ใจดี",
                        "national_id_masked": "x-xxxx-xxxx3-45-0",
                    },
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The membership (a worker may join, leave and join again).")
    group_id: uuid.UUID
    worker_id: uuid.UUID
    role: Role
    joined_at: datetime
    left_at: datetime | None = Field(description="Set when the member was removed.")
    worker: MemberWorker


class MemberPage(Page[MemberOut]):
    pass


class MembershipOut(BaseModel):
    """A worker's membership, seen from the worker."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "01934f8e-9000-7d3e-9a1b-2c3d4e5f6a7b",
                    "group_id": "01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b",
                    "group_name_th": "กลุ่มดอกไม้จันทน์และพวงหรีดย่านซื่อ",
                    "group_status": "prototype",
                    "role": "leader",
                    "joined_at": "2025-01-15T10:12:45+07:00",
                    "left_at": None,
                }
            ]
        }
    )

    id: uuid.UUID
    group_id: uuid.UUID
    group_name_th: str
    group_status: str
    role: Role
    joined_at: datetime
    left_at: datetime | None


class MembershipPage(Page[MembershipOut]):
    pass
