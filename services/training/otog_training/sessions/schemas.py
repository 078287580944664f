from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from otog_shared.schemas import ClientChosenId, PatchModel, RequestModel
from otog_shared.text import one_line_text
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    ValidationInfo,
    computed_field,
    field_validator,
)
from pydantic_core import PydanticCustomError

from otog_training.sessions.models import (
    MAX_CAPACITY,
    CancelReason,
    SessionMode,
    SessionStatus,
)
from otog_training.timeutil import in_bangkok

# Shown in Bangkok time with its offset, whatever the database session's zone.
BangkokTime = Annotated[datetime, AfterValidator(in_bangkok)]


def _has_offset(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise PydanticCustomError("timezone_aware", "Input should have timezone info")
    return moment


# A time sent with its offset. Not pydantic's AwareDatetime: that is no datetime
# subclass, so RequestModel cannot tell it is a JSON string and a number (0) passed
# as 1970-01-01T00:00:00Z.
WithOffset = Annotated[datetime, AfterValidator(_has_offset)]

ProvinceCode = Annotated[
    str,
    Field(pattern=r"^[0-9]{2}$", description="2-digit DOPA province code.", examples=["55"]),
]

# Text with something in it besides spaces (JSON Schema patterns match anywhere).
if TYPE_CHECKING:
    Venue = str
else:
    Venue = one_line_text(500)
# Visible characters only (written out rather than ``\S``, which JSON Schema's regex
# dialect and Python's read differently): NUL and control characters are refused.
OnlineUrl = Annotated[
    str, StringConstraints(max_length=2000, pattern=r"^https?://[!-~\u00a0-\uffff]+$")
]
VENUE_DOC = "Where it is held; required when `mode` is `onsite`."
ONLINE_URL_DOC = "The meeting link; required when `mode` is `online`."

ONSITE_EXAMPLE: dict[str, JsonValue] = {
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
ONLINE_EXAMPLE: dict[str, JsonValue] = {
    "course_id": "0b7e2a8c-3c0e-4c1e-9d8b-5f7a1c2e4d6f",
    "province_code": "34",
    "mode": "online",
    "starts_on": "2025-03-03",
    "ends_on": "2025-03-03",
    "online_url": "https://meet.example.org/edc-plus-ubon-2568",
    "capacity": 500,
}


def _required_for(mode: SessionMode) -> PydanticCustomError:
    return PydanticCustomError("required_for_mode", f"required for an {mode} session")


def _place_rule() -> dict[str, Any]:
    """JSON Schema for "`venue` when `onsite`, `online_url` when `online`".

    One ``if``/``then``/``else`` at the top of the object: the generators of typed
    clients read it as a plain object (Kotlin and Swift models with nullable fields),
    while a `oneOf` on `mode` gave Kotlin a bare interface its own variants do not
    implement, and an `allOf` beside nullable properties made them models of their
    own. Validators (and the tests) read the rule.
    """

    def when(mode: SessionMode, field: str) -> dict[str, Any]:
        return {
            "if": {"properties": {"mode": {"const": str(mode)}}, "required": ["mode"]},
            "then": {"properties": {field: {"type": "string"}}, "required": [field]},
        }

    return {**when(SessionMode.ONSITE, "venue"), "else": when(SessionMode.ONLINE, "online_url")}


class SessionCreate(ClientChosenId):
    """A new session: `venue` is required when `mode` is `onsite`, `online_url` when it
    is `online` (either may be given as well)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={**_place_rule(), "examples": [ONSITE_EXAMPLE, ONLINE_EXAMPLE]},
    )

    course_id: uuid.UUID
    province_code: ProvinceCode = Field(description="The training area (DOPA province code).")
    mode: SessionMode
    starts_on: date
    ends_on: date = Field(description="On or after `starts_on`.")
    venue: Venue | None = Field(default=None, validate_default=True, description=VENUE_DOC)
    online_url: OnlineUrl | None = Field(
        default=None, validate_default=True, description=ONLINE_URL_DOC
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
    enrollment_closes_at: WithOffset | None = Field(
        default=None,
        description=(
            "When booking closes (RFC 3339 with offset); not after the first day starts. "
            "Default: midnight at the start of `starts_on`, Asia/Bangkok."
        ),
    )

    @field_validator("venue")
    @classmethod
    def _venue_when_onsite(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("mode") == SessionMode.ONSITE:
            raise _required_for(SessionMode.ONSITE)
        return value

    @field_validator("online_url")
    @classmethod
    def _url_when_online(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("mode") == SessionMode.ONLINE:
            raise _required_for(SessionMode.ONLINE)
        return value


class SessionUpdate(PatchModel):
    """Fields to change; the others stay. Sending `mode` needs the place that mode
    uses in the same request (`venue` for `onsite`, `online_url` for `online`).
    What may change depends on the session's status: see the operation."""

    clearable: ClassVar[frozenset[str]] = frozenset({"venue", "online_url"})

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            **_place_rule(),
            "examples": [
                {"capacity": 400},
                {
                    "starts_on": "2025-02-17",
                    "ends_on": "2025-02-18",
                    "enrollment_closes_at": "2025-02-10T17:00:00+07:00",
                },
                {"mode": "online", "online_url": "https://meet.example.org/scb-nan", "venue": None},
            ],
        },
    )

    starts_on: date | None = None
    ends_on: date | None = None
    mode: SessionMode | None = Field(
        default=None, description="Switching mode needs the new mode's place in the same request."
    )
    venue: Venue | None = Field(
        default=None,
        validate_default=True,
        description=f"{VENUE_DOC} `null` removes it from an `online` session.",
    )
    online_url: OnlineUrl | None = Field(
        default=None,
        validate_default=True,
        description=f"{ONLINE_URL_DOC} `null` removes it from an `onsite` session.",
    )
    capacity: int | None = Field(
        default=None,
        ge=1,
        le=MAX_CAPACITY,
        description=(
            "Seats, 1 to 500; never below the people already confirmed. More seats go to "
            "the waitlist in order."
        ),
    )
    minimum: int | None = Field(
        default=None, ge=1, le=MAX_CAPACITY, description="At most `capacity`."
    )
    enrollment_closes_at: WithOffset | None = Field(
        default=None, description="Not after the first day starts (Asia/Bangkok)."
    )

    @field_validator("venue")
    @classmethod
    def _venue_with_onsite(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("mode") == SessionMode.ONSITE:
            raise _required_for(SessionMode.ONSITE)
        return value

    @field_validator("online_url")
    @classmethod
    def _url_with_online(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("mode") == SessionMode.ONLINE:
            raise _required_for(SessionMode.ONLINE)
        return value


SESSION_READ_EXAMPLES: list[JsonValue] = [
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


class SessionRead(BaseModel):
    """A training session; `venue` is set when `mode` is `onsite`, `online_url` when it
    is `online` (the database holds every session to that)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={**_place_rule(), "examples": list(SESSION_READ_EXAMPLES)},
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


class SessionCancel(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": list(SESSION_CANCEL_EXAMPLES),
            # Top-level if/then, not in an allOf: see _place_rule.
            "if": {
                "properties": {"reason": {"const": str(CancelReason.ORGANISER)}},
                "required": ["reason"],
            },
            "then": {
                "properties": {"note": {"type": "string", "pattern": r"\S"}},
                "required": ["note"],
            },
        },
    )

    reason: CancelReason = Field(
        default=CancelReason.BELOW_MINIMUM,
        description=(
            "`below_minimum`: allowed once booking has closed with fewer confirmed people "
            "than the minimum. `organiser`: the office calls it off before it starts "
            "(`note` required)."
        ),
    )
    note: str | None = Field(
        default=None,
        max_length=2000,
        validate_default=True,
        description="Why; told to everybody enrolled. Required with reason `organiser`.",
    )

    @field_validator("note")
    @classmethod
    def _note_from_organiser(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("reason") == CancelReason.ORGANISER and not (value and value.strip()):
            raise PydanticCustomError(
                "required_for_reason", "required for reason organiser: say why"
            )
        return value


class SessionFieldChange(BaseModel):
    """One field of a session before and after a change (dates as `YYYY-MM-DD`)."""

    before: str | None
    after: str | None


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
                    "changes": None,
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
                    "changes": None,
                    "occurred_at": "2025-01-27T14:02:40+07:00",
                    "published_at": None,
                },
                {
                    "id": 1203,
                    "enrollment_id": "5b1e8f0a-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
                    "session_id": "7c2d9e1f-3a4b-4c5d-9e6f-1a2b3c4d5e6f",
                    "worker_id": "3d0f5c4e-8a51-4a63-9a39-0f3c8f3b2a11",
                    "kind": "session.changed",
                    "reason": None,
                    "note": None,
                    "waitlist_position": None,
                    "changes": {
                        "starts_on": {"before": "2025-02-10", "after": "2025-02-17"},
                        "ends_on": {"before": "2025-02-11", "after": "2025-02-18"},
                    },
                    "occurred_at": "2025-01-29T10:20:00+07:00",
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
            "`session.changed`, `session.waitlist_closed`."
        ),
        examples=["session.cancelled"],
    )
    reason: str | None
    note: str | None
    waitlist_position: int | None
    changes: dict[str, SessionFieldChange] | None = Field(
        description=(
            "For `session.changed`: what changed (`starts_on`, `ends_on`, `mode`, `venue`, "
            "`online_url`), each with `before` and `after`; null for other kinds."
        )
    )
    occurred_at: BangkokTime
    published_at: BangkokTime | None = Field(
        description="When a notifier told the person; null until then."
    )
