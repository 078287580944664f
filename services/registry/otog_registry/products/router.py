"""Products of groups, with their standards: Thai FDA (`fda`, อย.), Thai Community
Product Standard (`tcps`, มผช.) and others, each with a number, issue and expiry
dates. A certification whose expiry date has passed shows `status: expired`.
Prices are integer satang. Available products of active groups appear in the
public catalogue (`GET /v1/catalog/products`).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from otog_shared.errors import Conflict, problem_responses
from otog_shared.etag import check_if_match, etag_for
from otog_shared.idempotency.http import IdempotentRoute
from otog_shared.pagination import Pagination, paginate

from otog_registry.deps import Groups, Products, Reader, Writer
from otog_registry.fiscal import today_in_bangkok
from otog_registry.groups.stages import Stage
from otog_registry.paging import after_id
from otog_registry.products.models import Product
from otog_registry.products.schemas import (
    CertificationCreate,
    CertificationOut,
    CertificationPage,
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductUpdate,
)
from otog_registry.products.service import certification_out

router = APIRouter(route_class=IdempotentRoute, prefix="/v1", tags=["products"])


def product_etag(product: Product) -> str:
    return etag_for("product", product.id, product.version)


@router.post(
    "/groups/{group_id}/products",
    status_code=201,
    summary="Add a product",
    response_model=ProductOut,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def create_product(
    group_id: uuid.UUID,
    body: ProductCreate,
    response: Response,
    principal: Writer,
    groups: Groups,
    products: Products,
) -> ProductOut:
    """Records a product of the group (409 for a dissolved group)."""
    group = await groups.get(principal, group_id)
    if group.status == Stage.dissolved.value:
        raise Conflict("A dissolved group takes no new products.", current_stage=group.status)
    product = await products.create(group, body)
    response.headers["ETag"] = product_etag(product)
    response.headers["Location"] = f"/v1/products/{product.id}"
    [out] = await products.to_out([product])
    return out


@router.get(
    "/groups/{group_id}/products",
    summary="List a group's products",
    response_model=ProductPage,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_group_products(
    group_id: uuid.UUID, principal: Reader, groups: Groups, products: Products, page: Pagination
) -> ProductPage:
    """The group's products in the order they were recorded, with certifications."""
    group = await groups.get(principal, group_id)
    rows = await products.of_group(group, after=after_id(page), limit=page.limit + 1)
    items, cursor = paginate(rows, page, lambda p: [str(p.id)])
    return ProductPage(items=await products.to_out(items), next_cursor=cursor)


@router.get(
    "/products/{product_id}",
    summary="Get a product",
    response_model=ProductOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_product(
    product_id: uuid.UUID, response: Response, principal: Reader, products: Products
) -> ProductOut:
    """One product with its certifications and an `ETag` for `If-Match`."""
    product, _ = await products.get(principal, product_id)
    response.headers["ETag"] = product_etag(product)
    [out] = await products.to_out([product])
    return out


@router.patch(
    "/products/{product_id}",
    summary="Update a product",
    response_model=ProductOut,
    responses=problem_responses(400, 401, 403, 404, 412, 422),
)
async def update_product(
    product_id: uuid.UUID,
    body: ProductUpdate,
    request: Request,
    response: Response,
    principal: Writer,
    products: Products,
) -> ProductOut:
    """Changes the product; a stale `If-Match` is 412."""
    product, group = await products.get(principal, product_id, for_update=True)
    check_if_match(request, product_etag(product))
    product = await products.update(product, group, body)
    response.headers["ETag"] = product_etag(product)
    [out] = await products.to_out([product])
    return out


@router.post(
    "/products/{product_id}/certifications",
    status_code=201,
    summary="Add a certification",
    response_model=CertificationOut,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def create_certification(
    product_id: uuid.UUID, body: CertificationCreate, principal: Writer, products: Products
) -> CertificationOut:
    """Records a standard the product meets. The same standard and number twice for
    one product is 409 `/problems/duplicate-certification`."""
    product, group = await products.get(principal, product_id)
    cert = await products.certify(product, group, body)
    return certification_out(cert, today_in_bangkok())


@router.get(
    "/products/{product_id}/certifications",
    summary="List a product's certifications",
    response_model=CertificationPage,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_certifications(
    product_id: uuid.UUID, principal: Reader, products: Products
) -> CertificationPage:
    """Every certification of the product, expired ones marked `expired`."""
    product, _ = await products.get(principal, product_id)
    today = today_in_bangkok()
    certs = await products.certifications(product)
    return CertificationPage(items=[certification_out(c, today) for c in certs], next_cursor=None)
