"""A worker's own registration, for the worker signed in with the national digital ID.

These routes need a token with the scope `self` (from the token exchange at
`POST /v1/oauth/token`); such a token opens nothing else.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from otog_shared.auth import CurrentWorker
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.pagination import Pagination, paginate

from otog_registry.deps import Workers
from otog_registry.me.service import MeService
from otog_registry.members.repository import MemberRepository
from otog_registry.members.schemas import MembershipOut, MembershipPage, Role
from otog_registry.paging import after_id
from otog_registry.workers.repository import WorkerRepository
from otog_registry.workers.router import worker_etag
from otog_registry.workers.schemas import WorkerOut

router = APIRouter(prefix="/v1/me", tags=["me"])


async def me_service(session: DbSession) -> MeService:
    return MeService(WorkerRepository(session), MemberRepository(session))


Me = Annotated[MeService, Depends(me_service)]


@router.get(
    "",
    summary="My registration",
    response_model=WorkerOut,
    responses=problem_responses(401, 403, 404),
)
async def get_me(
    principal: CurrentWorker, me: Me, workers: Workers, response: Response
) -> WorkerOut:
    """The signed-in worker's own record, as an officer without `pii:read` sees it:
    the national ID masked only (`national_id` is null)."""
    worker = await me.worker(principal)
    response.headers["ETag"] = worker_etag(worker)
    return workers.to_out(worker, principal)


@router.get(
    "/groups",
    summary="My groups",
    response_model=MembershipPage,
    responses=problem_responses(401, 403, 422),
)
async def list_my_groups(principal: CurrentWorker, me: Me, page: Pagination) -> MembershipPage:
    """Every group the signed-in worker belongs or belonged to (`left_at` set), oldest
    membership first, with the group's stage and the worker's role."""
    rows = await me.memberships(principal, after=after_id(page), limit=page.limit + 1)
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
