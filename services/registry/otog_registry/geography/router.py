"""Public reference data: provinces, districts and subdistricts by DOPA code.

Codes identify places; names repeat (there are three ย่านซื่อ), so every
reference to a place elsewhere in the API is by code. No token is needed.
Data: the ``geothai`` package (GeoThai, CC-BY-4.0) and coordinates from the
thai-geography data set (MIT).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from otog_shared.db import DbSession
from otog_shared.errors import NotFound, problem_responses
from otog_shared.pagination import Pagination, paginate
from otog_shared.text import SEARCH_PATTERN

from otog_registry.geography.repository import GeographyRepository
from otog_registry.geography.schemas import (
    DistrictOut,
    DistrictPage,
    ProvinceOut,
    ProvincePage,
    SubdistrictDetail,
    SubdistrictOut,
    SubdistrictPage,
)
from otog_registry.http_cache import cached_json
from otog_registry.paging import after_code

router = APIRouter(prefix="/v1", tags=["geography"])

# Reference data changes a few times a year.
MAX_AGE = 86_400

Q = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        pattern=SEARCH_PATTERN,
        description="Part of the Thai or English name.",
    ),
]


@router.get(
    "/provinces",
    summary="List provinces",
    response_model=ProvincePage,
    responses=problem_responses(422),
)
async def list_provinces(
    request: Request,
    session: DbSession,
    page: Pagination,
    region: Annotated[
        str | None,
        Query(pattern=r"^(north|central|northeast|west|east|south)$", description="Region."),
    ] = None,
    q: Q = None,
) -> Response:
    """The 77 provinces (76 and Bangkok), ordered by code."""
    rows = await GeographyRepository(session).list_provinces(
        region=region, q=q, after=after_code(page), limit=page.limit + 1
    )
    items, cursor = paginate(rows, page, lambda p: [p.code])
    body = ProvincePage(items=[ProvinceOut.model_validate(p) for p in items], next_cursor=cursor)
    return cached_json(request, body, max_age=MAX_AGE)


@router.get(
    "/provinces/{code}",
    summary="Get a province",
    response_model=ProvinceOut,
    responses=problem_responses(404, 422),
)
async def get_province(
    request: Request,
    session: DbSession,
    code: Annotated[str, Path(pattern=r"^[0-9]{2}$", examples=["15"])],
) -> Response:
    """One province by its 2-digit DOPA code."""
    province = await GeographyRepository(session).get_province(code)
    if province is None:
        raise NotFound("Province not found.")
    return cached_json(request, ProvinceOut.model_validate(province), max_age=MAX_AGE)


@router.get(
    "/districts",
    summary="List districts",
    response_model=DistrictPage,
    responses=problem_responses(422),
)
async def list_districts(
    request: Request,
    session: DbSession,
    page: Pagination,
    province: Annotated[
        str | None, Query(pattern=r"^[0-9]{2}$", description="Province code.", examples=["15"])
    ] = None,
    q: Q = None,
) -> Response:
    """Districts (อำเภอ, and เขต in Bangkok), ordered by code; filter by province."""
    rows = await GeographyRepository(session).list_districts(
        province=province, q=q, after=after_code(page), limit=page.limit + 1
    )
    items, cursor = paginate(rows, page, lambda d: [d.code])
    body = DistrictPage(items=[DistrictOut.model_validate(d) for d in items], next_cursor=cursor)
    return cached_json(request, body, max_age=MAX_AGE)


@router.get(
    "/districts/{code}",
    summary="Get a district",
    response_model=DistrictOut,
    responses=problem_responses(404, 422),
)
async def get_district(
    request: Request,
    session: DbSession,
    code: Annotated[str, Path(pattern=r"^[0-9]{4}$", examples=["1501"])],
) -> Response:
    """One district by its 4-digit DOPA code."""
    district = await GeographyRepository(session).get_district(code)
    if district is None:
        raise NotFound("District not found.")
    return cached_json(request, DistrictOut.model_validate(district), max_age=MAX_AGE)


@router.get(
    "/subdistricts",
    summary="List subdistricts",
    response_model=SubdistrictPage,
    responses=problem_responses(422),
)
async def list_subdistricts(
    request: Request,
    session: DbSession,
    page: Pagination,
    district: Annotated[
        str | None, Query(pattern=r"^[0-9]{4}$", description="District code.", examples=["1501"])
    ] = None,
    province: Annotated[
        str | None, Query(pattern=r"^[0-9]{2}$", description="Province code.", examples=["15"])
    ] = None,
    postal_code: Annotated[
        str | None, Query(pattern=r"^[0-9]{5}$", description="Postal code.", examples=["14000"])
    ] = None,
    q: Q = None,
) -> Response:
    """Subdistricts (ตำบล, and แขวง in Bangkok), ordered by code; filter by district,
    province, postal code or name."""
    rows = await GeographyRepository(session).list_subdistricts(
        province=province,
        district=district,
        postal_code=postal_code,
        q=q,
        after=after_code(page),
        limit=page.limit + 1,
    )
    items, cursor = paginate(rows, page, lambda s: [s.code])
    body = SubdistrictPage(
        items=[SubdistrictOut.model_validate(s) for s in items], next_cursor=cursor
    )
    return cached_json(request, body, max_age=MAX_AGE)


@router.get(
    "/subdistricts/{code}",
    summary="Get a subdistrict",
    response_model=SubdistrictDetail,
    responses=problem_responses(404, 422),
)
async def get_subdistrict(
    request: Request,
    session: DbSession,
    code: Annotated[str, Path(pattern=r"^[0-9]{6}$", examples=["150114"])],
) -> Response:
    """One subdistrict by its 6-digit DOPA code, with its district and province."""
    repo = GeographyRepository(session)
    sub = await repo.get_subdistrict(code)
    if sub is None:
        raise NotFound("Subdistrict not found.")
    district = await repo.get_district(sub.district_code)
    province = await repo.get_province(sub.province_code)
    assert district is not None and province is not None  # foreign keys guarantee both
    body = SubdistrictDetail(
        **SubdistrictOut.model_validate(sub).model_dump(),
        district=DistrictOut.model_validate(district),
        province=ProvinceOut.model_validate(province),
    )
    return cached_json(request, body, max_age=MAX_AGE)
