"""The audit trail (scope `admin`): every write, with the client that made it, the
request id, the time and what changed (never a national ID)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.pagination import Pagination, paginate, unpack_cursor
from otog_shared.text import SEARCH_PATTERN

from otog_registry.audit.repository import AuditFilter, AuditRepository
from otog_registry.audit.schemas import AuditEventOut, AuditEventPage
from otog_registry.deps import Admin

router = APIRouter(prefix="/v1/audit-events", tags=["audit"])


def _event_seq(value: object) -> int:
    seq = int(str(value))
    if not 0 <= seq < 2**63:
        raise ValueError("out of range")
    return seq


@router.get(
    "",
    summary="List audit events",
    response_model=AuditEventPage,
    responses=problem_responses(401, 403, 422),
)
async def list_audit_events(
    session: DbSession,
    principal: Admin,
    page: Pagination,
    entity_type: Annotated[
        str | None,
        Query(max_length=32, examples=["group"], description="`worker`, `group`, `product`."),
    ] = None,
    entity_id: uuid.UUID | None = None,
    actor: Annotated[
        str | None, Query(max_length=1000, pattern=SEARCH_PATTERN, description="Client id.")
    ] = None,
    actor_person: Annotated[
        str | None,
        Query(max_length=1000, pattern=SEARCH_PATTERN, description="`user:<id>`."),
    ] = None,
    request_id: Annotated[str | None, Query(max_length=128, pattern=SEARCH_PATTERN)] = None,
    action: Annotated[
        str | None, Query(max_length=64, pattern=SEARCH_PATTERN, examples=["group.stage_changed"])
    ] = None,
) -> AuditEventPage:
    """Audit events, oldest first."""
    after: int | None = None
    if page.after:
        after = unpack_cursor(page.after[:1], _event_seq)[0]
    rows = await AuditRepository(session).find(
        # An admin client bound to a province sees that province's events only.
        AuditFilter(
            entity_type,
            entity_id,
            actor,
            actor_person,
            request_id,
            action,
            principal.province,
        ),
        after=after,
        limit=page.limit + 1,
    )
    items, cursor = paginate(rows, page, lambda e: [e.id])
    return AuditEventPage(
        items=[AuditEventOut.model_validate(e) for e in items], next_cursor=cursor
    )
