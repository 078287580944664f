"""Market links: the markets partner ministries opened for a group (fairs, e-commerce,
tourist markets, OTOP shops, abroad) and the sales made, in satang. Recording needs
`market:write`; send an `Idempotency-Key` header to make retries safe (the same key
and body give back the first record; the same key with another body is 422)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query
from otog_shared.errors import problem_responses
from otog_shared.idempotency.http import IdempotentRoute
from otog_shared.pagination import Pagination, paginate

from otog_registry.deps import Groups, Market, MarketWriter, Reader
from otog_registry.market.schemas import (
    MarketLinkCreate,
    MarketLinkOut,
    MarketLinkPage,
    MarketSummary,
)
from otog_registry.paging import after_id

router = APIRouter(
    route_class=IdempotentRoute, prefix="/v1/groups/{group_id}/market-links", tags=["market-links"]
)


@router.post(
    "",
    status_code=201,
    summary="Record a market link",
    response_model=MarketLinkOut,
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def create_market_link(
    group_id: uuid.UUID,
    body: MarketLinkCreate,
    principal: MarketWriter,
    groups: Groups,
    market: Market,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description="Makes a retried request safe: the first record is returned again.",
        ),
    ] = None,
) -> MarketLinkOut:
    """Records a market opportunity a partner gave the group and the sales made."""
    group = await groups.get(principal, group_id)
    link = await market.record(group, body, idempotency_key)
    return MarketLinkOut.model_validate(link)


@router.get(
    "",
    summary="List market links",
    response_model=MarketLinkPage,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_market_links(
    group_id: uuid.UUID, principal: Reader, groups: Groups, market: Market, page: Pagination
) -> MarketLinkPage:
    """The group's market links in the order they were recorded."""
    group = await groups.get(principal, group_id)
    rows = await market.of_group(group, after=after_id(page), limit=page.limit + 1)
    items, cursor = paginate(rows, page, lambda m: [str(m.id)])
    return MarketLinkPage(
        items=[MarketLinkOut.model_validate(m) for m in items], next_cursor=cursor
    )


@router.get(
    "/summary",
    summary="Summarise a group's market links",
    response_model=MarketSummary,
    responses=problem_responses(401, 403, 404, 422),
)
async def summarize_market_links(
    group_id: uuid.UUID,
    principal: Reader,
    groups: Groups,
    market: Market,
    fiscal_year: Annotated[
        int | None,
        Query(ge=2500, le=2800, description="Only this Thai fiscal year (Buddhist Era)."),
    ] = None,
) -> MarketSummary:
    """Links and sales (satang) in total and per partner ministry."""
    group = await groups.get(principal, group_id)
    return await market.summary(group, fiscal_year)
