"""Events between services: each service's outbox read over HTTP, and the CloudEvents
envelope partners receive.

Every service serves ``GET /internal/outbox?after=&limit=&wait=`` (added by
:func:`otog_shared.app.create_app`): its committed outbox rows above a position,
oldest first; with ``wait`` and nothing there yet, it answers as soon as an event
commits (a long poll woken by the outbox's notification) or when ``wait`` seconds
have passed. The registry's collector is its only reader. The rows are read on a
connection of the endpoint's own (:class:`OutboxReader`), not through the request
slots: under a burst of requests the collector would otherwise queue behind all of
them, and events would reach partners seconds late. The gateway does not
route ``/internal/``; the endpoint also wants a token carrying
:data:`INTERNAL_OUTBOX_SCOPE`, which no API client can be given (client scopes are
checked against the public list) and which the registry mints for itself with its
own signing key, so that the other services verify it like any token (``admin``
passes too, as everywhere).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Security
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from otog_shared.auth import Principal, authenticate
from otog_shared.db import connect_args
from otog_shared.outbox import OUTBOX_CHANNEL, OutboxEvent, Wakeup, read_outbox
from otog_shared.settings import ServiceSettings

INTERNAL_OUTBOX_SCOPE = "internal:outbox"
OUTBOX_PATH = "/internal/outbox"
MAX_OUTBOX_PAGE = 1000
# The longest a reader may ask the endpoint to wait for an event (seconds).
MAX_OUTBOX_WAIT = 10.0

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


class OutboxReader:
    """The internal outbox endpoint's reads: an engine of one connection and a
    listener on the outbox's notifications, both opened at the first read (only the
    process the collector reaches needs them)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.wakeup = Wakeup.of(engine, [OUTBOX_CHANNEL])

    @classmethod
    def of(cls, settings: ServiceSettings) -> OutboxReader:
        return cls(
            create_async_engine(
                settings.database_url,
                pool_size=1,
                max_overflow=0,
                pool_pre_ping=settings.db_pool_pre_ping,
                hide_parameters=True,
                connect_args=connect_args(settings),
            )
        )

    async def read(self, after: int, limit: int, wait: float) -> list[OutboxEvent]:
        self.wakeup.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            # Taken before the read: a commit after it is a notification after it.
            heard = self.wakeup.heard
            async with self.engine.connect() as conn:
                events = await read_outbox(conn, after, limit)
            left = deadline - loop.time()
            if events or left <= 0:
                return events
            # Not listening (yet): a short poll instead of a notification.
            await self.wakeup.heard_since(heard, left if self.wakeup.listening.is_set() else 0.05)

    async def close(self) -> None:
        await self.wakeup.stop()
        await self.engine.dispose()


outbox_router = APIRouter()


@outbox_router.get(OUTBOX_PATH, include_in_schema=False, response_model=OutboxPage)
async def read_internal_outbox(
    request: Request,
    _caller: Annotated[Principal, Security(authenticate, scopes=[INTERNAL_OUTBOX_SCOPE])],
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_OUTBOX_PAGE)] = 500,
    wait: Annotated[float, Query(ge=0, le=MAX_OUTBOX_WAIT)] = 0,
) -> OutboxPage:
    """Committed outbox rows with a position above ``after``, in commit order; with
    ``wait``, the first that commit within that many seconds when none is there."""
    reader: OutboxReader = request.app.state.outbox_reader
    return OutboxPage(items=[OutboxItem.of(e) for e in await reader.read(after, limit, wait)])


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
