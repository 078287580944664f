from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from otog_shared.schemas import RequestModel
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    computed_field,
)

from otog_training.sessions.models import (
    MAX_CAPACITY,
    CancelReason,
    SessionMode,
    SessionStatus,
)
from otog_training.timeutil import in_bangkok

# Shown in Bangkok time with its offset, whatever the database session's zone.
BangkokTime = Annotated[datetime, AfterValidator(in_bangkok)]

ProvinceCode = Annotated[
    str,
    Field(pattern=r"^[0-9]{2}$", description="2-digit DOPA province code.", examples=["55"]),
]


class SessionCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "course_id": "0b7e2a8c-3c0e-4c1e-9d8b-5f7a1c2e4d6f",
                    "province_code": "55",
                    "mode": "onsite",
                    "starts_on": "2025-02-10",
                    "ends_on": "2025-02-11",
                    "venue": "Nan Provincial Skill Development Office",
                    "capacity": 300,
                    "minimum": 100,
                    "enrollment_closes_at": "2025-02-03T17:00:00+07:00",
                }
            ]
        },
    )

    course_id: uuid.UUID
    province_code: ProvinceCode = Field(description="The training area (DOPA province code).")
    mode: SessionMode
    starts_on: date
    ends_on: date
    venue: str | None = Field(
        default=None, max_length=500, description="Where it is held; required when `onsite`."
    )
    online_url: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://\S+$",
        description="The meeting link; required when `online`.",
    )
    capacity: int = Field(ge=1, le=MAX_CAPACITY, description="Seats, 1 to 500.")
    minimum: int | None = Field(
        default=None,
        ge=1,
        le=MAX_CAPACITY,
        description=(
            "People needed for the session to go ahead; at most `capacity`. Default 100 "
            "(or `capacity` when that is smaller)."
        ),
    )
    enrollment_closes_at: AwareDatetime | None = Field(
        default=None,
        description=(
            "When booking closes (RFC 3339 with offset); not after the first day starts. "
            "Default: midnight at the start of `starts_on`, Asia/Bangkok."
        ),
    )


class SessionRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "7c2d9e1f-3a4b-4c5d-9e6f-1a2b3c4d5e6f",
                    "course_id": "0b7e2a8c-3c0e-4c1e-9d8b-5f7a1c2e4d6f",
                    "province_code": "55",
                    "mode": "onsite",
                    "starts_on": "2025-02-10",
                    "ends_on": "2025-02-11",
                    "venue": "Nan Provincial Skill Development Office",
                    "online_url": None,
                    "capacity": 300,
                    "minimum": 100,
                    "enrollment_closes_at": "2025-02-03T17:00:00+07:00",
                    "status": "confirmed",
                    "confirmed_count": 300,
                    "waitlist_count": 3,
                    "confirmed_at": "2025-01-18T11:42:10+07:00",
                    "started_at": None,
                    "completed_at": None,
                    "cancelled_at": None,
                    "cancel_reason": None,
                    "cancel_note": None,
                    "created_at": "2025-01-06T09:00:00+07:00",
                    "seats_left": 0,
                },
                {
                    "id": "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                    "course_id": "0b7e2a8c-3c0e-4c1e-9d8b-5f7a1c2e4d6f",
                    "province_code": "34",
                    "mode": "online",
                    "starts_on": "2025-03-03",
                    "ends_on": "2025-03-03",
                    "venue": None,
                    "online_url": "https://meet.example.org/edc-plus-ubon-2568",
                    "capacity": 500,
                    "minimum": 100,
                    "enrollment_closes_at": "2025-02-24T17:00:00+07:00",
                    "status": "cancelled",
                    "confirmed_count": 0,
                    "waitlist_count": 0,
                    "confirmed_at": None,
                    "started_at": None,
                    "completed_at": None,
                    "cancelled_at": "2025-02-25T09:00:00+07:00",
                    "cancel_reason": "below_minimum",
                    "cancel_note": None,
                    "created_at": "2025-01-10T14:30:00+07:00",
                    "seats_left": 500,
                },
            ]
        },
    )

    id: uuid.UUID
    course_id: uuid.UUID
    province_code: str
    mode: SessionMode
    starts_on: date
    ends_on: date
    venue: str | None
    online_url: str | None
    capacity: int
    minimum: int
    enrollment_closes_at: BangkokTime
    status: SessionStatus = Field(
        description=(
            "`open` → `confirmed` (reached its minimum) → `running` → `completed`, or `cancelled`."
        )
    )
    confirmed_count: int = Field(
        description="People holding a seat (enrolments `confirmed` or `completed`)."
    )
    waitlist_count: int = Field(description="People waiting (enrolments `waitlisted`).")
    confirmed_at: BangkokTime | None
    started_at: BangkokTime | None
    completed_at: BangkokTime | None
    cancelled_at: BangkokTime | None
    cancel_reason: CancelReason | None
    cancel_note: str | None
    created_at: BangkokTime

    @computed_field(description="Seats still free.")  # type: ignore[prop-decorator]
    @property
    def seats_left(self) -> int:
        return self.capacity - self.confirmed_count


SESSION_CANCEL_EXAMPLES: list[JsonValue] = [
    {"reason": "below_minimum"},
    {
        "reason": "organiser",
        "note": "ศูนย์ฝึกปิดปรับปรุง เลื่อนไปจัดรอบใหม่ (venue closed for repairs)",
    },
]


class SessionCancel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": list(SESSION_CANCEL_EXAMPLES)}
    )

    reason: CancelReason = Field(
        default=CancelReason.BELOW_MINIMUM,
        description=(
            "`below_minimum`: allowed once booking has closed with fewer confirmed people "
            "than the minimum. `organiser`: the office calls it off before it starts "
            "(`note` required)."
        ),
    )
    note: str | None = Field(default=None, max_length=2000)


class EnrollmentEventRead(BaseModel):
    """Something one enrolled person is told about (the notification outbox)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1041,
                    "enrollment_id": "5b1e8f0a-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
                    "session_id": "7c2d9e1f-3a4b-4c5d-9e6f-1a2b3c4d5e6f",
                    "worker_id": "3d0f5c4e-8a51-4a63-9a39-0f3c8f3b2a11",
                    "kind": "enrollment.waitlisted",
                    "reason": None,
                    "note": None,
                    "waitlist_position": 3,
                    "occurred_at": "2025-01-20T09:15:02+07:00",
                    "published_at": "2025-01-20T09:15:05+07:00",
                },
                {
                    "id": 1187,
                    "enrollment_id": "5b1e8f0a-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
                    "session_id": "7c2d9e1f-3a4b-4c5d-9e6f-1a2b3c4d5e6f",
                    "worker_id": "3d0f5c4e-8a51-4a63-9a39-0f3c8f3b2a11",
                    "kind": "enrollment.promoted",
                    "reason": None,
                    "note": None,
                    "waitlist_position": None,
                    "occurred_at": "2025-01-27T14:02:40+07:00",
                    "published_at": None,
                },
            ]
        },
    )

    id: int
    enrollment_id: uuid.UUID
    session_id: uuid.UUID
    worker_id: uuid.UUID
    kind: str = Field(
        description=(
            "`enrollment.confirmed`, `enrollment.waitlisted`, `enrollment.promoted`, "
            "`enrollment.cancelled`, `enrollment.completed`, `session.cancelled`, "
            "`session.waitlist_closed`."
        ),
        examples=["session.cancelled"],
    )
    reason: str | None
    note: str | None
    waitlist_position: int | None
    occurred_at: BangkokTime
    published_at: BangkokTime | None = Field(
        description="When a notifier told the person; null until then."
    )
