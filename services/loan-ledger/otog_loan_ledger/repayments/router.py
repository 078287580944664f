from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Request, Response, Security
from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.etag import etag_for
from otog_shared.idempotency.http import IdempotentRoute
from otog_shared.pagination import Page, Pagination, as_int, paginate, unpack_cursor

from otog_loan_ledger.clock import bangkok_today
from otog_loan_ledger.idempotency.http import KEY_REQUIRED, IdempotencyKey, run_idempotent
from otog_loan_ledger.repayments.schemas import (
    AllocationOut,
    RepaymentCreate,
    RepaymentOut,
    RepaymentReversalRequest,
    ReversalOut,
)
from otog_loan_ledger.repayments.service import RepaymentService, RepaymentView
from otog_loan_ledger.settings import Settings

router = APIRouter(
    route_class=IdempotentRoute, prefix="/v1/loans/{loan_id}/repayments", tags=["repayments"]
)

READ = Annotated[Principal, Security(authenticate, scopes=["loans:read"])]
WRITE = Annotated[Principal, Security(authenticate, scopes=["loans:write"])]
APPROVE = Annotated[Principal, Security(authenticate, scopes=["loans:approve"])]


def repayment_out(view: RepaymentView) -> RepaymentOut:
    r = view.repayment
    return RepaymentOut(
        id=r.id,
        loan_id=r.loan_id,
        amount_satang=r.amount_satang,
        paid_on=r.paid_on,
        reference=r.reference,
        status="reversed" if view.reversal else "posted",
        allocations=[
            AllocationOut(installment_number=a.installment_number, amount_satang=a.amount_satang)
            for a in view.allocations
        ],
        reversal=ReversalOut(
            reason=view.reversal.reason,
            reversed_on=view.reversal.reversed_on,
            reversed_at=view.reversal.reversed_at,
        )
        if view.reversal
        else None,
        recorded_at=r.recorded_at,
        loan_status=view.loan_status,
        loan_outstanding_satang=view.loan_outstanding_satang,
    )


def _location(body: str) -> Mapping[str, str]:
    out = RepaymentOut.model_validate_json(body)
    return {"Location": f"/v1/loans/{out.loan_id}/repayments/{out.id}"}


@router.post(
    "",
    status_code=201,
    summary="Record a repayment",
    response_model=RepaymentOut,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
    openapi_extra=KEY_REQUIRED,
)
async def record_repayment(
    loan_id: uuid.UUID,
    body: RepaymentCreate,
    request: Request,
    session: DbSession,
    principal: WRITE,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Money received for an active loan. It goes to the oldest unpaid installment
    first; partial and early payments are fine; more than the outstanding
    principal is 422 `/problems/overpayment`. A loan paid in full becomes
    `closed`.

    `Idempotency-Key` is required (400 without it): the same key with the same
    body returns the first response again (`Idempotent-Replayed: true`) and posts
    nothing; with another body 422 `/problems/idempotency-key-reused`; while the
    first request is still running 409 `/problems/idempotency-key-in-flight`."""
    today = bangkok_today()
    settings: Settings = request.app.state.settings

    async def work() -> tuple[RepaymentOut, Mapping[str, str]]:
        view = await RepaymentService(session, fund_changes=settings.fund_changes).repay(
            principal,
            loan_id,
            amount=body.amount_satang,
            paid_on=body.paid_on,
            reference=body.reference,
            today=today,
            repayment_id=body.id,
        )
        out = repayment_out(view)
        return out, {"Location": f"/v1/loans/{loan_id}/repayments/{out.id}"}

    return await run_idempotent(
        session=session,
        principal=principal,
        request=request,
        key=idempotency_key,
        required=True,
        payload=body,
        status_code=201,
        work=work,
        replay_headers=_location,
    )


@router.get(
    "",
    summary="List a loan's repayments",
    response_model=Page[RepaymentOut],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_repayments(
    loan_id: uuid.UUID, session: DbSession, page: Pagination, principal: READ
) -> Page[RepaymentOut]:
    """Repayments in the order they were recorded, reversed ones included (with
    their reversal)."""
    after: int | None = None
    if page.after is not None:
        after = unpack_cursor(page.after, as_int)[0]
    views = await RepaymentService(session).list_for_loan(
        principal, loan_id, after_seq=after, limit=page.limit + 1
    )
    items, cursor = paginate(views, page, lambda v: (v.repayment.seq,))
    return Page[RepaymentOut](items=[repayment_out(v) for v in items], next_cursor=cursor)


@router.get(
    "/{repayment_id}",
    summary="Get a repayment",
    response_model=RepaymentOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_repayment(
    loan_id: uuid.UUID,
    repayment_id: uuid.UUID,
    response: Response,
    session: DbSession,
    principal: READ,
) -> RepaymentOut:
    """The repayment, where its money went, and its reversal if it was reversed."""
    out = repayment_out(await RepaymentService(session).get(principal, loan_id, repayment_id))
    response.headers["ETag"] = etag_for("repayment", out.model_dump_json())
    return out


@router.post(
    "/{repayment_id}/reverse",
    summary="Reverse a repayment",
    response_model=RepaymentOut,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def reverse_repayment(
    loan_id: uuid.UUID,
    repayment_id: uuid.UUID,
    body: RepaymentReversalRequest,
    request: Request,
    session: DbSession,
    principal: APPROVE,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Corrects a repayment recorded by mistake (a bounced transfer, say). Nothing
    is edited: a reversing journal entry is posted, the repayment is marked
    reversed, and the loan's installments are re-allocated from the repayments
    that still count; a loan it had closed becomes `active` again, even when its
    group has applied to the fund again since: the reopened loan then stands beside
    the newer one (the one-open-loan rule guards applications, and a correction is
    never refused for it; the loan's history shows the reopening). Reversing twice
    is 409; in a revolving fund whose repaid money is already lent again, 409
    `/problems/budget-exceeded`. Needs `loans:approve`."""
    today = bangkok_today()

    async def work() -> tuple[RepaymentOut, Mapping[str, str]]:
        view = await RepaymentService(session).reverse(
            principal, loan_id, repayment_id, reason=body.reason, today=today
        )
        return repayment_out(view), {}

    return await run_idempotent(
        session=session,
        principal=principal,
        request=request,
        key=idempotency_key,
        required=False,
        payload=body,
        status_code=200,
        work=work,
    )
