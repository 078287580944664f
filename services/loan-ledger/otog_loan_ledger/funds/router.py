from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response, Security
from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.etag import etag_for
from otog_shared.pagination import Page, Pagination, as_datetime, as_uuid, paginate, unpack_cursor

from otog_loan_ledger.clock import bangkok_today
from otog_loan_ledger.funds.models import Fund
from otog_loan_ledger.funds.repository import FundRepository
from otog_loan_ledger.funds.schemas import FundCreate, FundOut
from otog_loan_ledger.funds.service import FundService

router = APIRouter(prefix="/v1/funds", tags=["funds"])


def fund_out(fund: Fund) -> FundOut:
    today = bangkok_today()
    return FundOut(
        id=fund.id,
        name=fund.name,
        funding_source=fund.funding_source,
        province_code=fund.province_code,
        budget_satang=fund.budget_satang,
        committed_satang=fund.committed_satang,
        disbursed_satang=fund.disbursed_satang,
        repaid_satang=fund.repaid_satang,
        outstanding_satang=fund.disbursed_satang - fund.repaid_satang,
        available_satang=fund.available_satang,
        applications_open_on=fund.applications_open_on,
        applications_close_on=fund.applications_close_on,
        accepting_applications=fund.applications_open_on <= today <= fund.applications_close_on,
        min_principal_satang=fund.min_principal_satang,
        max_principal_satang=fund.max_principal_satang,
        term_months=fund.term_months,
        interest_rate_bps=fund.interest_rate_bps,
        installment_multiple_satang=fund.installment_multiple_satang,
        revolving=fund.revolving,
        created_at=fund.created_at,
        updated_at=fund.updated_at,
    )


def fund_etag(fund: Fund) -> str:
    return etag_for("fund", fund.id, fund.version)


@router.post(
    "",
    status_code=201,
    summary="Create a loan fund",
    response_model=FundOut,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_fund(
    body: FundCreate,
    response: Response,
    session: DbSession,
    principal: Annotated[Principal, Security(authenticate, scopes=["loans:approve"])],
) -> FundOut:
    """Creates a fund with a hard budget and opens its ledger accounts, posting the
    budget as the fund's capital.

    Needs `loans:approve` (or `admin`) on a national client (no province): budgets
    are set nationally. Only interest-free funds exist (`interest_rate_bps` 0).
    """
    fund = await FundService.of(session).create(principal, body, bangkok_today())
    response.headers["Location"] = f"/v1/funds/{fund.id}"
    response.headers["ETag"] = fund_etag(fund)
    return fund_out(fund)


@router.get(
    "",
    summary="List loan funds",
    response_model=Page[FundOut],
    responses=problem_responses(401, 403, 422),
)
async def list_funds(
    session: DbSession,
    page: Pagination,
    principal: Annotated[Principal, Security(authenticate, scopes=["loans:read"])],
) -> Page[FundOut]:
    """Funds, oldest first: national funds, and a provincial
    client's own province's funds."""
    after = _after(page.after)
    rows = await FundRepository(session).search(
        province=principal.province, after=after, limit=page.limit + 1
    )
    items, cursor = paginate(rows, page, lambda f: (f.created_at.isoformat(), str(f.id)))
    return Page[FundOut](items=[fund_out(f) for f in items], next_cursor=cursor)


def _after(values: list[object] | None) -> tuple[datetime, uuid.UUID] | None:
    if values is None:
        return None
    created, fund_id = unpack_cursor(values, as_datetime, as_uuid)
    return created, fund_id


@router.get(
    "/{fund_id}",
    summary="Get a loan fund and its figures",
    response_model=FundOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_fund(
    fund_id: uuid.UUID,
    response: Response,
    session: DbSession,
    principal: Annotated[Principal, Security(authenticate, scopes=["loans:read"])],
) -> FundOut:
    """The fund's terms and figures: `budget_satang`, `committed_satang` (reserved by
    approved loans), `disbursed_satang`, `repaid_satang` and `available_satang`."""
    fund = await FundService.of(session).get(principal, fund_id)
    response.headers["ETag"] = fund_etag(fund)
    return fund_out(fund)
