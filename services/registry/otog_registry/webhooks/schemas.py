from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from otog_shared.outbox import EVENT_TYPES
from otog_shared.pagination import Page
from otog_shared.schemas import ClientChosenId, PatchModel, RequestModel
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from otog_registry.fields import ShortText
from otog_registry.webhooks.ssrf import MAX_URL_LENGTH

ALL_TYPES = "*"


def _known_type(value: str) -> str:
    if value != ALL_TYPES and value not in EVENT_TYPES:
        raise ValueError(f"unknown event type {value!r}")
    return value


def _types_list(values: list[str]) -> list[str]:
    if ALL_TYPES in values and len(values) > 1:
        raise ValueError('"*" stands alone: every type the client may read')
    return sorted(set(values))


EventTypeName = Annotated[
    str,
    AfterValidator(_known_type),
    Field(
        max_length=64,
        json_schema_extra={"enum": [ALL_TYPES, *sorted(EVENT_TYPES)]},
        examples=["group.stage_changed"],
    ),
]
EventTypes = Annotated[
    list[EventTypeName],
    AfterValidator(_types_list),
    Field(
        min_length=1,
        max_length=len(EVENT_TYPES) + 1,
        description='Event types to receive, or `["*"]` for every type the client may read.',
    ),
]
TargetUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description=(
            "Where events are `POST`ed: `https`, to a globally routable address "
            "(plain `http` only to loopback, and only where the deployment allows it)."
        ),
        examples=["https://partner.example.go.th/otog/webhooks"],
    ),
]

WEBHOOK_EXAMPLE: dict[str, JsonValue] = {
    "id": "01960f3a-7d10-7c2e-9f31-4a5b6c7d8e9f",
    "url": "https://partner.example.go.th/otog/webhooks",
    "event_types": ["group.stage_changed", "loan.approved"],
    "description": "Commerce: trade-fair invitations",
    "enabled": True,
    "disabled_reason": None,
    "disabled_at": None,
    "client_id": "otog_3f2a9c1d0b8e7a6f5d4c",
    "province_code": "15",
    "previous_secret_expires_at": None,
    "created_at": "2025-04-10T09:20:00+07:00",
    "updated_at": "2025-04-10T09:20:00+07:00",
}
SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw2eQ0n5qC0tA="  # noqa: S105 - an example in the docs


class WebhookCreate(ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://partner.example.go.th/otog/webhooks",
                    "event_types": ["group.stage_changed", "loan.approved"],
                    "description": "Commerce: trade-fair invitations",
                }
            ]
        },
    )

    url: TargetUrl
    event_types: EventTypes
    description: ShortText | None = None


class WebhookUpdate(PatchModel):
    """Fields to change; omitted fields stay. `enabled: true` turns a disabled
    subscription back on (its reason is cleared and pending deliveries resume)."""

    clearable = frozenset({"description"})

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"enabled": True}, {"event_types": ["*"]}]},
    )

    url: TargetUrl | None = None
    event_types: EventTypes | None = None
    description: ShortText | None = None
    enabled: bool | None = None


class WebhookOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [WEBHOOK_EXAMPLE]}
    )

    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why the subscription was disabled (410 Gone, failing for 3 days, by hand)."
    )
    disabled_at: datetime | None
    client_id: str = Field(description="The client the subscription belongs to.")
    province_code: str | None = Field(
        description="The client's province: only that province's events are sent."
    )
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the secret replaced by the last rotation signs too."
    )
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**WEBHOOK_EXAMPLE, "secret": SECRET_EXAMPLE}]}
    )

    secret: str = Field(description="The signing secret, shown only now.")


class WebhookPage(Page[WebhookOut]):
    pass


class WebhookSecret(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": WEBHOOK_EXAMPLE["id"],
                    "secret": SECRET_EXAMPLE,
                    "previous_secret_expires_at": "2025-04-11T09:20:00+07:00",
                }
            ]
        }
    )

    id: uuid.UUID
    secret: str = Field(description="The new signing secret, shown only now.")
    previous_secret_expires_at: datetime = Field(
        description="Until then the previous secret signs too (two signatures)."
    )


class PingOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "01960f3b-0a11-7b2c-8d3e-4f5a6b7c8d9e",
                    "delivery_id": "01960f3b-0a12-7c3d-9e4f-5a6b7c8d9e0f",
                }
            ]
        }
    )

    event_id: uuid.UUID
    delivery_id: uuid.UUID


class ReplayIn(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"since": "2025-04-10T00:00:00+07:00", "until": "2025-04-11T00:00:00+07:00"}
            ]
        },
    )

    since: AwareDatetime = Field(description="Events that occurred at or after this time…")
    until: AwareDatetime | None = Field(default=None, description="…and before this one (now).")


class ReplayOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"deliveries": 42}]})

    deliveries: int = Field(description="Events queued to be sent again.")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01960f3b-0a12-7c3d-9e4f-5a6b7c8d9e0f",
                    "event_id": "01960f3b-0a11-7b2c-8d3e-4f5a6b7c8d9e",
                    "event_type": "group.stage_changed",
                    "status": "pending",
                    "attempt": 2,
                    "last_attempt_at": "2025-04-10T09:21:05+07:00",
                    "response_status": 503,
                    "error": None,
                    "next_attempt_at": "2025-04-10T09:26:05+07:00",
                    "replay": False,
                    "created_at": "2025-04-10T09:21:00+07:00",
                }
            ]
        },
    )

    id: uuid.UUID
    event_id: uuid.UUID = Field(description="The event's id, sent as `webhook-id`.")
    event_type: str
    status: str = Field(description="`pending`, `succeeded` or `failed` (given up).")
    attempt: int = Field(description="Attempts made so far.")
    last_attempt_at: datetime | None
    response_status: int | None = Field(description="The receiver's status at the last attempt.")
    error: str | None = Field(description="Why the last attempt failed without a status.")
    next_attempt_at: datetime | None
    replay: bool
    created_at: datetime


class DeliveryPage(Page[DeliveryOut]):
    pass
