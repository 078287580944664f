"""The public showcase of the groups' products (no token): products of active groups
with the group and its place, and no personal data. Responses are cacheable
(`Cache-Control`, `ETag`, `If-None-Match` → 304)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.pagination import Pagination, paginate
from otog_shared.text import SEARCH_PATTERN

from otog_registry.catalog.repository import CatalogFilter, CatalogRepository
from otog_registry.catalog.schemas import (
    CatalogCertification,
    CatalogGroup,
    CatalogPage,
    CatalogPlace,
    CatalogProduct,
)
from otog_registry.fiscal import today_in_bangkok
from otog_registry.groups.occupations import Occupation
from otog_registry.http_cache import cached_json
from otog_registry.paging import after_id
from otog_registry.photos.repository import PhotoRepository
from otog_registry.photos.schemas import photo_out
from otog_registry.products.repository import ProductRepository
from otog_registry.products.schemas import Standard
from otog_registry.products.service import certification_status
from otog_registry.settings import RegistrySettings

router = APIRouter(prefix="/v1/catalog", tags=["catalog"])


@router.get(
    "/products",
    summary="Browse the product catalogue",
    response_model=CatalogPage,
    responses=problem_responses(422),
)
async def list_catalog_products(
    request: Request,
    session: DbSession,
    page: Pagination,
    province: Annotated[str | None, Query(pattern=r"^[0-9]{2}$", examples=["15"])] = None,
    district: Annotated[str | None, Query(pattern=r"^[0-9]{4}$", examples=["1501"])] = None,
    occupation: Occupation | None = None,
    premium: Annotated[bool | None, Query(description="Only premium / soft-power.")] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1, max_length=100, pattern=SEARCH_PATTERN, description="Part of the name."
        ),
    ] = None,
) -> Response:
    """Available products of groups that are neither suspended nor dissolved, with
    their certifications (expired ones marked), the group and its place."""
    repo = CatalogRepository(session)
    rows = await repo.products(
        CatalogFilter(province, district, occupation.value if occupation else None, premium, q),
        after=after_id(page),
        limit=page.limit + 1,
    )
    items, cursor = paginate(rows, page, lambda r: [str(r[0].id)])
    certs = await ProductRepository(session).certifications_of([r[0].id for r in items])
    photos = await PhotoRepository(session).of_products([r[0].id for r in items])
    today = today_in_bangkok()
    body = CatalogPage(
        items=[
            CatalogProduct(
                id=product.id,
                name_th=product.name_th,
                name_en=product.name_en,
                description=product.description,
                price_satang=product.price_satang,
                unit=product.unit,
                is_premium=product.is_premium,
                certifications=[
                    CatalogCertification(
                        standard=Standard(c.standard),
                        standard_name=c.standard_name,
                        number=c.number,
                        expires_on=c.expires_on,
                        status=certification_status(c, today),
                    )
                    for c in certs.get(product.id, [])
                ],
                photos=[photo_out(p) for p in photos.get(product.id, [])],
                group=CatalogGroup(
                    id=group.id,
                    name_th=group.name_th,
                    name_en=group.name_en,
                    occupation=Occupation(group.occupation),
                ),
                place=CatalogPlace(
                    subdistrict_code=sub.code,
                    subdistrict_name_th=sub.name_th,
                    subdistrict_name_en=sub.name_en,
                    district_code=dist.code,
                    district_name_th=dist.name_th,
                    district_name_en=dist.name_en,
                    province_code=prov.code,
                    province_name_th=prov.name_th,
                    province_name_en=prov.name_en,
                ),
            )
            for product, group, sub, dist, prov in items
        ],
        next_cursor=cursor,
    )
    settings: RegistrySettings = request.app.state.settings
    return cached_json(request, body, max_age=settings.catalog_max_age_seconds)
