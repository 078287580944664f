from __future__ import annotations

import uuid
from datetime import date

from otog_shared.schemas import ClientChosenId, RequestModel
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from otog_training.enrollments.models import EnrollmentCancelReason, EnrollmentStatus
from otog_training.sessions.schemas import BangkokTime


class EnrollmentCreate(ClientChosenId):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "worker_id": "3d0f5c4e-8a51-4a63-9a39-0f3c8f3b2a11",
                    "group_id": "9a4f2d1b-6c7e-4b8a-a1d2-3e4f5a6b7c8d",
                }
            ]
        },
    )

    worker_id: uuid.UUID | None = Field(
        default=None,
        description=(
            "A worker registered in the registry. Required with `training:write`; with a "
            "worker's `self` token it may be omitted and must otherwise be the worker's own id."
        ),
    )
    group_id: uuid.UUID | None = Field(
        default=None,
        description=(
            "The occupation group the worker trains for (counted in the group's progress); "
            "must be known to the registry and not suspended or dissolved."
        ),
    )


class EnrollmentRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "5b1e8f0a-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
                    "session_id": "7c2d9e1f-3a4b-4c5d-9e6f-1a2b3c4d5e6f",
                    "worker_id": "3d0f5c4e-8a51-4a63-9a39-0f3c8f3b2a11",
                    "group_id": None,
                    "status": "waitlisted",
                    "waitlist_position": 3,
                    "enrolled_at": "2025-01-20T09:15:02.123456+07:00",
                    "confirmed_at": None,
                    "cancelled_at": None,
                    "cancel_reason": None,
                    "cancel_note": None,
                    "days_present": 0,
                    "completed_on": None,
                    "completed_at": None,
                    "certificate_number": None,
                }
            ]
        },
    )

    id: uuid.UUID
    session_id: uuid.UUID
    worker_id: uuid.UUID
    group_id: uuid.UUID | None
    status: EnrollmentStatus = Field(
        description="`confirmed` (has a seat), `waitlisted`, `cancelled` or `completed`."
    )
    waitlist_position: int | None = Field(
        description="1 is next in line; present only while `waitlisted`."
    )
    enrolled_at: BangkokTime
    confirmed_at: BangkokTime | None
    cancelled_at: BangkokTime | None
    cancel_reason: EnrollmentCancelReason | None = Field(
        description=(
            "`withdrawn` (cancelled by request), `session_cancelled`, or `waitlist_closed` "
            "(the session started while still waiting)."
        )
    )
    cancel_note: str | None
    days_present: int = Field(description="Days recorded as present.")
    completed_on: date | None
    completed_at: BangkokTime | None
    certificate_number: str | None = Field(
        description="Recorded when the enrolment is completed.", examples=["EDC-PLUS-2568-000042"]
    )


ENROLLMENT_CANCEL_EXAMPLES: list[JsonValue] = [
    {"note": "Harvest season — ติดช่วงเก็บเกี่ยวข้าว ขอสละสิทธิ์"},
]


class EnrollmentCancel(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": list(ENROLLMENT_CANCEL_EXAMPLES)}
    )

    note: str | None = Field(default=None, max_length=2000, examples=["Harvest season"])


class AttendanceCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"attended_on": "2025-02-10"}]}
    )

    attended_on: date = Field(description="A day of the session (`starts_on`..`ends_on`).")
    present: bool = Field(default=True, description="`false` corrects a day recorded by mistake.")


class AttendanceRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "attended_on": "2025-02-10",
                    "present": True,
                    "recorded_at": "2025-02-10T16:30:00+07:00",
                }
            ]
        },
    )

    attended_on: date
    present: bool
    recorded_at: BangkokTime


class AttendanceList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enrollment_id": "5b1e8f0a-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
                    "days_present": 2,
                    "records": [
                        {
                            "attended_on": "2025-02-10",
                            "present": True,
                            "recorded_at": "2025-02-10T16:30:00+07:00",
                        },
                        {
                            "attended_on": "2025-02-11",
                            "present": True,
                            "recorded_at": "2025-02-11T16:05:00+07:00",
                        },
                    ],
                }
            ]
        }
    )

    enrollment_id: uuid.UUID
    days_present: int
    records: list[AttendanceRead]


ENROLLMENT_COMPLETE_EXAMPLES: list[JsonValue] = [
    {"certificate_number": "DSD-55-2568-00123", "completed_on": "2025-02-11"},
    {"completed_on": "2025-02-11"},
]


class EnrollmentComplete(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": list(ENROLLMENT_COMPLETE_EXAMPLES)}
    )

    certificate_number: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9/._-]*$",
        description=(
            "The number on the certificate the office issued; when omitted the service "
            "issues one (`<course code>-<Buddhist year>-<serial>`)."
        ),
    )
    completed_on: date | None = Field(default=None, description="Default: today in Asia/Bangkok.")


class CourseProgress(BaseModel):
    course_id: uuid.UUID
    course_code: str
    title_th: str
    title_en: str
    members_enrolled: int = Field(
        description="Distinct members with a live or completed enrolment."
    )
    members_completed: int = Field(description="Distinct members who completed the course.")


class GroupProgress(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "group_id": "9a4f2d1b-6c7e-4b8a-a1d2-3e4f5a6b7c8d",
                    "members_enrolled": 12,
                    "members_completed": 9,
                    "courses": [
                        {
                            "course_id": "0b7e2a8c-3c0e-4c1e-9d8b-5f7a1c2e4d6f",
                            "course_code": "EDC-PLUS",
                            "title_th": "ETDA Digital Citizen Plus (EDC Plus)",
                            "title_en": "ETDA Digital Citizen Plus (EDC Plus)",
                            "members_enrolled": 12,
                            "members_completed": 9,
                        }
                    ],
                }
            ]
        }
    )

    group_id: uuid.UUID
    members_enrolled: int = Field(description="Distinct members enrolled in any course.")
    members_completed: int = Field(description="Distinct members who completed any course.")
    courses: list[CourseProgress]
