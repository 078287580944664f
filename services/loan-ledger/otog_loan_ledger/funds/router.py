from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response, Security
from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.etag import etag_for
from otog_shared.idempotency.http import IdempotentRoute
from otog_shared.pagination import (
    Page,
    Pagination,
    as_datetime,
    as_int,
    as_uuid,
    paginate,
    unpack_cursor,
)

from otog_loan_ledger.clock import bangkok_today
from otog_loan_ledger.funds.models import Fund
from otog_loan_ledger.funds.repository import FundRepository
from otog_loan_ledger.funds.schemas import FundCreate, FundOut, FundTopUpCreate, FundTopUpOut
from otog_loan_ledger.funds.service import FundService, TopUpView
from otog_loan_ledger.idempotency.http import KEY_REQUIRED, IdempotencyKey, run_idempotent

router = APIRouter(route_class=IdempotentRoute, prefix="/v1/funds", tags=["funds"])

READ = Annotated[Principal, Security(authenticate, scopes=["loans:read"])]
APPROVE = Annotated[Principal, Security(authenticate, scopes=["loans:approve"])]


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
    # Repayments change the figures without moving the row's version; until a
    # fold (which moves it) their unfolded sum only grows.
    return etag_for("fund", fund.id, fund.version, fund.unfolded_repaid_satang)


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
    principal: APPROVE,
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
    principal: READ,
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
    principal: READ,
) -> FundOut:
    """The fund's terms and figures: `budget_satang`, `committed_satang` (reserved by
    approved loans), `disbursed_satang`, `repaid_satang` and `available_satang`."""
    fund = await FundService.of(session).get(principal, fund_id)
    response.headers["ETag"] = fund_etag(fund)
    return fund_out(fund)


def top_up_out(view: TopUpView) -> FundTopUpOut:
    t = view.top_up
    return FundTopUpOut(
        id=t.id,
        fund_id=t.fund_id,
        amount_satang=t.amount_satang,
        reason=t.reason,
        effective_on=t.effective_on,
        journal_entry_id=view.journal_entry_id,
        created_by=t.created_by,
        created_at=t.created_at,
    )


def _top_up_location(body: str) -> Mapping[str, str]:
    out = FundTopUpOut.model_validate_json(body)
    return {"Location": f"/v1/funds/{out.fund_id}/top-ups/{out.id}"}


@router.post(
    "/{fund_id}/top-ups",
    status_code=201,
    summary="Top up a fund's budget",
    response_model=FundTopUpOut,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
    openapi_extra=KEY_REQUIRED,
)
async def create_fund_top_up(
    fund_id: uuid.UUID,
    body: FundTopUpCreate,
    request: Request,
    session: DbSession,
    principal: APPROVE,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Raises the fund's `budget_satang`, and so its `available_satang`, by
    `amount_satang`, for the `reason` given. Posted in the fund's ledger as a
    `top_up` entry (available_budget debited, fund_capital credited), so the trial
    balance still reconciles. Top-ups and approvals racing on one fund are applied
    one after the other: the fund never commits more than its budget of the moment.

    Needs `loans:approve` (or `admin`) on a national client (no province), as
    creating a fund does. A budget above 10,000,000,000,000 satang is 422.

    `Idempotency-Key` is required (400 without it): the same key with the same
    body returns the first response again (`Idempotent-Replayed: true`) and adds
    nothing; with another body 422 `/problems/idempotency-key-reused`; while the
    first request is still running 409 `/problems/idempotency-key-in-flight`."""
    today = bangkok_today()

    async def work() -> tuple[FundTopUpOut, Mapping[str, str]]:
        view = await FundService.of(session).top_up(principal, fund_id, body, today)
        out = top_up_out(view)
        return out, {"Location": f"/v1/funds/{fund_id}/top-ups/{out.id}"}

    return await run_idempotent(
        session=session,
        principal=principal,
        request=request,
        key=idempotency_key,
        required=True,
        payload=body,
        status_code=201,
        work=work,
        replay_headers=_top_up_location,
    )


@router.get(
    "/{fund_id}/top-ups",
    summary="List a fund's top-ups",
    response_model=Page[FundTopUpOut],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_fund_top_ups(
    fund_id: uuid.UUID, session: DbSession, page: Pagination, principal: READ
) -> Page[FundTopUpOut]:
    """Every top-up of the fund's budget, oldest first, with who recorded it and why."""
    after: int | None = None
    if page.after is not None:
        after = unpack_cursor(page.after, as_int)[0]
    views = await FundService.of(session).top_ups(
        principal, fund_id, after_seq=after, limit=page.limit + 1
    )
    items, cursor = paginate(views, page, lambda v: (v.top_up.seq,))
    return Page[FundTopUpOut](items=[top_up_out(v) for v in items], next_cursor=cursor)


@router.get(
    "/{fund_id}/top-ups/{top_up_id}",
    summary="Get a fund top-up",
    response_model=FundTopUpOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_fund_top_up(
    fund_id: uuid.UUID,
    top_up_id: uuid.UUID,
    response: Response,
    session: DbSession,
    principal: READ,
) -> FundTopUpOut:
    """One top-up of the fund's budget. Top-ups are never changed."""
    view = await FundService.of(session).get_top_up(principal, fund_id, top_up_id)
    response.headers["ETag"] = etag_for("fund-top-up", view.top_up.id)
    return top_up_out(view)
