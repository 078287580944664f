"""Events between services: each service's outbox read over HTTP, and the CloudEvents
envelope partners receive.

Every service serves ``GET /internal/outbox?after=&limit=`` (added by
:func:`otog_shared.app.create_app`): its committed outbox rows above a position,
oldest first. The registry's collector is its only reader. The gateway does not
route ``/internal/``; the endpoint also wants a token carrying
:data:`INTERNAL_OUTBOX_SCOPE`, which no API client can be given (client scopes are
checked against the public list) and which the registry mints for itself with its
own signing key, so that the other services verify it like any token (``admin``
passes too, as everywhere).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Security
from pydantic import BaseModel, ConfigDict, Field

from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession
from otog_shared.outbox import OutboxEvent, read_outbox

INTERNAL_OUTBOX_SCOPE = "internal:outbox"
OUTBOX_PATH = "/internal/outbox"
MAX_OUTBOX_PAGE = 1000

# The CloudEvents ``source`` of each service's events.
SOURCE_URIS: dict[str, str] = {
    "registry": "/otog/registry",
    "training": "/otog/training",
    "loan-ledger": "/otog/loan-ledger",
}

SPECVERSION = "1.0"
DATACONTENTTYPE = "application/json"


class OutboxItem(BaseModel):
    id: str
    position: int
    type: str
    subject: str
    province_code: str | None
    data: dict[str, Any]
    occurred_at: datetime

    @classmethod
    def of(cls, event: OutboxEvent) -> OutboxItem:
        return cls(
            id=str(event.id),
            position=event.position,
            type=event.type,
            subject=event.subject,
            province_code=event.province_code,
            data=event.data,
            occurred_at=event.occurred_at,
        )


class OutboxPage(BaseModel):
    items: list[OutboxItem]


outbox_router = APIRouter()


@outbox_router.get(OUTBOX_PATH, include_in_schema=False, response_model=OutboxPage)
async def read_internal_outbox(
    db: DbSession,
    _caller: Annotated[Principal, Security(authenticate, scopes=[INTERNAL_OUTBOX_SCOPE])],
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_OUTBOX_PAGE)] = 500,
) -> OutboxPage:
    """Committed outbox rows with a position above ``after``, in commit order."""
    return OutboxPage(items=[OutboxItem.of(e) for e in await read_outbox(db, after, limit)])


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event in JSON, with the extension attribute ``provincecode``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "specversion": "1.0",
                    "id": "0b9c1d3e-8f1a-4c55-9a57-3f1de0b6c2aa",
                    "source": "/otog/loan-ledger",
                    "type": "loan.approved",
                    "time": "2026-03-02T03:15:09.412Z",
                    "subject": "/v1/loans/5d0f3c1e-2b7a-4c1d-9e4f-7a8b9c0d1e2f",
                    "datacontenttype": "application/json",
                    "provincecode": "15",
                    "data": {
                        "loan_id": "5d0f3c1e-2b7a-4c1d-9e4f-7a8b9c0d1e2f",
                        "fund_id": "3e6a1f0b-4c2d-4e8f-9a1b-2c3d4e5f6a7b",
                        "group_id": "8c7b6a5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d",
                        "status": "approved",
                        "previous_status": "submitted",
                        "principal_satang": 5000000,
                        "term_months": 24,
                        "disbursed_on": None,
                        "closed_on": None,
                    },
                }
            ]
        }
    )

    specversion: str = Field(default=SPECVERSION, description='Always "1.0".')
    id: str = Field(description="Unique per event; the `webhook-id` of its deliveries.")
    source: str = Field(description="The service that recorded it: `/otog/registry`, …")
    type: str = Field(description="The event type, e.g. `group.stage_changed`.")
    time: datetime = Field(description="When the change happened (its transaction).")
    subject: str = Field(description="The resource's path, e.g. `/v1/groups/{id}`.")
    datacontenttype: str = Field(default=DATACONTENTTYPE)
    provincecode: str | None = Field(
        default=None,
        description="2-digit DOPA province code; absent for national objects (a national fund).",
    )
    data: dict[str, Any] = Field(
        description="Ids, codes, stages, amounts and dates; never personal data."
    )
