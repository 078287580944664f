"""Field visits by the programme's working group (คณะทำงาน): date, officer, progress,
problems and obstacles, follow-up actions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from otog_shared.errors import problem_responses
from otog_shared.etag import etag_for
from otog_shared.idempotency.http import IdempotentRoute
from otog_shared.pagination import Pagination, paginate

from otog_registry.deps import Groups, Reader, Visits, Writer
from otog_registry.paging import after_id
from otog_registry.visits.schemas import VisitCreate, VisitOut, VisitPage

router = APIRouter(
    route_class=IdempotentRoute, prefix="/v1/groups/{group_id}/visits", tags=["visits"]
)


@router.post(
    "",
    status_code=201,
    summary="Record a field visit",
    response_model=VisitOut,
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def create_visit(
    group_id: uuid.UUID,
    body: VisitCreate,
    response: Response,
    principal: Writer,
    groups: Groups,
    visits: Visits,
) -> VisitOut:
    """Records what the working group found on a visit: progress, problems and
    obstacles, and the follow-up actions agreed."""
    group = await groups.get(principal, group_id)
    visit = await visits.record(group, body)
    response.headers["Location"] = f"/v1/groups/{group_id}/visits/{visit.id}"
    [out] = await visits.to_out([visit])
    return out


@router.get(
    "",
    summary="List field visits",
    response_model=VisitPage,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_visits(
    group_id: uuid.UUID, principal: Reader, groups: Groups, visits: Visits, page: Pagination
) -> VisitPage:
    """The group's visits in the order they were recorded."""
    group = await groups.get(principal, group_id)
    rows = await visits.of_group(group, after=after_id(page), limit=page.limit + 1)
    items, cursor = paginate(rows, page, lambda v: [str(v.id)])
    return VisitPage(items=await visits.to_out(items), next_cursor=cursor)


@router.get(
    "/{visit_id}",
    summary="Get a field visit",
    response_model=VisitOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_visit(
    group_id: uuid.UUID,
    visit_id: uuid.UUID,
    response: Response,
    principal: Reader,
    groups: Groups,
    visits: Visits,
) -> VisitOut:
    """One visit of the group (visits are not edited, so its `ETag` never changes)."""
    group = await groups.get(principal, group_id)
    visit = await visits.get(group, visit_id)
    response.headers["ETag"] = etag_for("visit", visit.id)
    [out] = await visits.to_out([visit])
    return out
