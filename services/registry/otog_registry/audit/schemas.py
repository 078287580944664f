from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from otog_shared.pagination import Page
from pydantic import BaseModel, ConfigDict, Field


class AuditEventOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 42,
                    "occurred_at": "2025-02-01T08:00:00Z",
                    "actor": "otog_3f2a9c1d0b8e7a6f5d4c",
                    "actor_person": "user:0193a1b2-7c2a-7d3e-9a1b-2c3d4e5f6a7b",
                    "request_id": "6f1c2b7e0d6a4c1f9a3e5b2d7c8e9f01",
                    "action": "group.updated",
                    "entity_type": "group",
                    "entity_id": "01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b",
                    "province_code": "15",
                    "changes": {"occupation": {"from": "flowers_wreaths", "to": "handicraft"}},
                }
            ]
        },
    )

    id: int
    occurred_at: datetime
    actor: str | None = Field(description="Client id of the caller (the app, for a person).")
    actor_person: str | None = Field(
        default=None,
        description="`user:<id>` when an officer signed in through an app made the call.",
    )
    request_id: str | None
    action: str
    entity_type: str
    entity_id: uuid.UUID | None
    province_code: str | None
    changes: dict[str, Any] = Field(description="What changed; national IDs never appear.")


class AuditEventPage(Page[AuditEventOut]):
    pass
