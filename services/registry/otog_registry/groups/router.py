"""Occupation groups (กลุ่มอาชีพ) and their journey through the programme.

A group's `status` is its stage. Allowed stage changes
(`POST /v1/groups/{id}/stage-changes`), anything else is 409
`/problems/illegal-stage-transition`:

| from | to |
| --- | --- |
| `registered` | `prototype`, `suspended`, `dissolved` |
| `prototype` | `training`, `suspended`, `dissolved` |
| `training` | `product_development`, `suspended`, `dissolved` |
| `product_development` | `funding`, `suspended`, `dissolved` |
| `funding` | `marketing`, `suspended`, `dissolved` |
| `marketing` | `suspended`, `dissolved` |
| `suspended` | the stage it was suspended from, `dissolved` |
| `dissolved` | — |

At most one group per subdistrict is the prototype in a fiscal year (Thai
fiscal year, October–September, Buddhist Era): a second one is 409
`/problems/prototype-taken`, enforced by a database constraint.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from otog_shared.errors import problem_responses
from otog_shared.etag import check_if_match, etag_for
from otog_shared.idempotency.http import IdempotentRoute
from otog_shared.pagination import Pagination, paginate

from otog_registry.deps import Groups, Reader, Writer
from otog_registry.groups.models import Group
from otog_registry.groups.occupations import OCCUPATION_LABELS, Occupation
from otog_registry.groups.repository import GroupFilter
from otog_registry.groups.schemas import (
    GroupCreate,
    GroupOut,
    GroupPage,
    GroupUpdate,
    OccupationList,
    OccupationOut,
    StageChangeCreate,
    StageChangeOut,
    StageChangePage,
)
from otog_registry.groups.stages import Stage
from otog_registry.paging import after_id

router = APIRouter(route_class=IdempotentRoute, prefix="/v1/groups", tags=["groups"])


def group_etag(group: Group) -> str:
    return etag_for("group", group.id, group.version)


@router.get("/occupations", summary="List occupation categories", response_model=OccupationList)
async def list_occupations() -> OccupationList:
    """The closed list of occupation categories a group is filed under, with Thai
    and English names. Public reference data."""
    return OccupationList(
        items=[
            OccupationOut(code=code, name_th=th, name_en=en, examples=ex)
            for code, (th, en, ex) in OCCUPATION_LABELS.items()
        ]
    )


@router.post(
    "",
    status_code=201,
    summary="Register a group",
    response_model=GroupOut,
    responses=problem_responses(400, 401, 403, 422),
)
async def create_group(
    body: GroupCreate, response: Response, principal: Writer, groups: Groups
) -> GroupOut:
    """Registers a group in a subdistrict; it starts in stage `registered`. A client
    bound to a province may register groups of that province only (403)."""
    group = await groups.create(principal, body)
    response.headers["ETag"] = group_etag(group)
    response.headers["Location"] = f"/v1/groups/{group.id}"
    return GroupOut.model_validate(group)


@router.get(
    "",
    summary="List groups",
    response_model=GroupPage,
    responses=problem_responses(401, 403, 422),
)
async def list_groups(
    principal: Reader,
    groups: Groups,
    page: Pagination,
    province: Annotated[str | None, Query(pattern=r"^[0-9]{2}$", examples=["15"])] = None,
    district: Annotated[str | None, Query(pattern=r"^[0-9]{4}$", examples=["1501"])] = None,
    subdistrict: Annotated[str | None, Query(pattern=r"^[0-9]{6}$", examples=["150114"])] = None,
    status: Stage | None = None,
    occupation: Occupation | None = None,
) -> GroupPage:
    """Groups in registration order, filtered by place, stage and occupation.
    A client bound to a province sees only that province's groups."""
    rows = await groups.find(
        principal,
        GroupFilter(
            province,
            district,
            subdistrict,
            status.value if status else None,
            occupation.value if occupation else None,
        ),
        after=after_id(page),
        limit=page.limit + 1,
    )
    items, cursor = paginate(rows, page, lambda g: [str(g.id)])
    return GroupPage(items=[GroupOut.model_validate(g) for g in items], next_cursor=cursor)


@router.get(
    "/{group_id}",
    summary="Get a group",
    response_model=GroupOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_group(
    group_id: uuid.UUID, response: Response, principal: Reader, groups: Groups
) -> GroupOut:
    """One group, with an `ETag` to send back as `If-Match` when changing it."""
    group = await groups.get(principal, group_id)
    response.headers["ETag"] = group_etag(group)
    return GroupOut.model_validate(group)


@router.patch(
    "/{group_id}",
    summary="Update a group",
    response_model=GroupOut,
    responses=problem_responses(400, 401, 403, 404, 412, 422),
)
async def update_group(
    group_id: uuid.UUID,
    body: GroupUpdate,
    request: Request,
    response: Response,
    principal: Writer,
    groups: Groups,
) -> GroupOut:
    """Changes names, occupation, contact or description. With `If-Match`, a stale
    `ETag` is 412 and nothing changes."""
    group = await groups.get(principal, group_id, for_update=True)
    check_if_match(request, group_etag(group))
    group = await groups.update(group, body)
    response.headers["ETag"] = group_etag(group)
    return GroupOut.model_validate(group)


@router.post(
    "/{group_id}/stage-changes",
    status_code=201,
    summary="Change a group's stage",
    response_model=StageChangeOut,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def create_stage_change(
    group_id: uuid.UUID, body: StageChangeCreate, principal: Writer, groups: Groups
) -> StageChangeOut:
    """Moves the group to `stage` and records who did it, when, for which fiscal year
    and why. 409 `/problems/illegal-stage-transition` for a move the journey does not
    allow (the problem lists `allowed_stages`); 409 `/problems/prototype-taken` when
    the subdistrict already has a prototype group for that fiscal year."""
    group = await groups.get(principal, group_id, for_update=True)
    change = await groups.change_stage(group, body)
    return StageChangeOut.model_validate(change)


@router.get(
    "/{group_id}/stage-changes",
    summary="List a group's stage changes",
    response_model=StageChangePage,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_stage_changes(
    group_id: uuid.UUID, principal: Reader, groups: Groups, page: Pagination
) -> StageChangePage:
    """The group's history, oldest first, starting with its registration."""
    group = await groups.get(principal, group_id)
    rows = await groups.stage_changes(group, after=after_id(page), limit=page.limit + 1)
    items, cursor = paginate(rows, page, lambda c: [str(c.id)])
    return StageChangePage(
        items=[StageChangeOut.model_validate(c) for c in items], next_cursor=cursor
    )
