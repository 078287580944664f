"""The partner feed (`GET /v1/events`): every service's events in one order, as
CloudEvents 1.0, from a cursor. Poll it with the `next_cursor` of the last page, or
use it to catch up after webhook deliveries were missed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Security
from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses

from otog_registry.events.repository import EventLogRepository
from otog_registry.events.schemas import EventPage
from otog_registry.events.service import FeedService

router = APIRouter(prefix="/v1/events", tags=["events"])

MAX_PAGE = 500


@router.get(
    "",
    summary="List events",
    response_model=EventPage,
    response_model_exclude_none=True,
    responses=problem_responses(401, 410, 422),
)
async def list_events(
    session: DbSession,
    principal: Annotated[Principal, Security(authenticate)],
    after: Annotated[
        str | None,
        Query(max_length=200, description="The `next_cursor` of the previous page."),
    ] = None,
    types: Annotated[
        str | None,
        Query(
            max_length=2000,
            examples=["loan.approved,loan.disbursed"],
            description="Comma-separated event types; all that the caller may read by default.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> EventPage:
    """Events oldest first, across the three services, in one order that never changes:
    an event committed late is placed after those already listed, never before. Only
    events the caller's scopes may read, of its province (and national ones) when it
    has one. A cursor older than the retention (30 days) → 410 `/problems/cursor-expired`.
    """
    wanted = [t.strip() for t in types.split(",") if t.strip()] if types is not None else None
    return await FeedService(EventLogRepository(session)).page(
        principal, after=after, types=wanted, limit=limit
    )
