"""Members of a group: workers with a role, `leader` (at most one at a time) or `member`.

A worker may belong to several groups. Removing a member ends the membership
(`left_at`) and keeps it in the history (`?include_former=true`).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from otog_shared.errors import problem_responses
from otog_shared.idempotency.http import IdempotentRoute
from otog_shared.pagination import Pagination, paginate

from otog_registry.deps import Groups, Members, Reader, Workers, Writer
from otog_registry.members.schemas import (
    MemberCreate,
    MemberOut,
    MemberPage,
    MembershipOut,
    MembershipPage,
    Role,
)
from otog_registry.paging import after_id

router = APIRouter(route_class=IdempotentRoute, prefix="/v1", tags=["members"])


@router.post(
    "/groups/{group_id}/members",
    status_code=201,
    summary="Add a member",
    response_model=MemberOut,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def add_member(
    group_id: uuid.UUID,
    body: MemberCreate,
    principal: Writer,
    groups: Groups,
    members: Members,
) -> MemberOut:
    """Adds a registered worker to the group. 422 for an unknown worker; 409
    `/problems/already-member` when they are a current member, 409
    `/problems/leader-exists` for a second current leader, 409 `/problems/conflict`
    for a dissolved group."""
    group = await groups.get(principal, group_id)
    membership, worker = await members.add(principal, group, body)
    return members.to_out(membership, worker)


@router.get(
    "/groups/{group_id}/members",
    summary="List members",
    response_model=MemberPage,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_members(
    group_id: uuid.UUID,
    principal: Reader,
    groups: Groups,
    members: Members,
    page: Pagination,
    include_former: Annotated[
        bool, Query(description="Also list memberships that have ended.")
    ] = False,
    role: Role | None = None,
) -> MemberPage:
    """Current members in the order they joined; former ones too with `include_former`."""
    group = await groups.get(principal, group_id)
    rows = await members.of_group(
        group,
        include_former=include_former,
        role=role.value if role else None,
        after=after_id(page),
        limit=page.limit + 1,
    )
    items, cursor = paginate(rows, page, lambda row: [str(row[0].id)])
    return MemberPage(items=[members.to_out(m, w) for m, w in items], next_cursor=cursor)


@router.delete(
    "/groups/{group_id}/members/{worker_id}",
    status_code=204,
    summary="Remove a member",
    responses=problem_responses(401, 403, 404, 422),
)
async def remove_member(
    group_id: uuid.UUID,
    worker_id: uuid.UUID,
    principal: Writer,
    groups: Groups,
    members: Members,
) -> Response:
    """Ends the worker's current membership; the record stays in the history.
    404 when the worker is not a current member."""
    group = await groups.get(principal, group_id)
    await members.remove(group, worker_id)
    return Response(status_code=204)


@router.get(
    "/workers/{worker_id}/memberships",
    summary="List a worker's groups",
    response_model=MembershipPage,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_worker_memberships(
    worker_id: uuid.UUID,
    principal: Reader,
    workers: Workers,
    members: Members,
    page: Pagination,
) -> MembershipPage:
    """Every group the worker belongs or belonged to, oldest first."""
    worker = await workers.get(principal, worker_id)
    rows = await members.of_worker(principal, worker, after=after_id(page), limit=page.limit + 1)
    items, cursor = paginate(rows, page, lambda row: [str(row[0].id)])
    return MembershipPage(
        items=[
            MembershipOut(
                id=m.id,
                group_id=g.id,
                group_name_th=g.name_th,
                group_status=g.status,
                role=Role(m.role),
                joined_at=m.joined_at,
                left_at=m.left_at,
            )
            for m, g in items
        ],
        next_cursor=cursor,
    )
