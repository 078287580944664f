from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response, Security
from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.etag import check_if_match, etag_for
from otog_shared.idempotency.http import IdempotentRoute
from otog_shared.pagination import Page, Pagination, as_datetime, as_uuid, paginate, unpack_cursor
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.clock import bangkok_today
from otog_loan_ledger.idempotency.http import IdempotencyKey, run_idempotent
from otog_loan_ledger.loans.models import Loan
from otog_loan_ledger.loans.repository import LoanRepository
from otog_loan_ledger.loans.schemas import (
    ACTION_NOTE_EXAMPLES,
    DisbursedLoanOut,
    DisbursementRequest,
    InstallmentOut,
    LoanActionRequest,
    LoanApply,
    LoanHistoryOut,
    LoanOut,
    LoanStatusChangeOut,
    ScheduleOut,
)
from otog_loan_ledger.loans.service import InstallmentView, LoanFigures, LoanService
from otog_loan_ledger.loans.transitions import LoanStatus, allowed_actions
from otog_loan_ledger.registry import Registry
from otog_loan_ledger.schemas import IsoDate

router = APIRouter(route_class=IdempotentRoute, prefix="/v1/loans", tags=["loans"])

READ = Annotated[Principal, Security(authenticate, scopes=["loans:read"])]
WRITE = Annotated[Principal, Security(authenticate, scopes=["loans:write"])]
APPROVE = Annotated[Principal, Security(authenticate, scopes=["loans:approve"])]
AsOf = Annotated[
    IsoDate | None,
    Query(description="The day to compute the figures for (Asia/Bangkok); default today."),
]

ACTION_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 422)
# Approval and disbursement also ask the registry, which may be unreachable.
REGISTRY_ACTION_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 422, 503)


def loan_etag(loan: Loan) -> str:
    return etag_for("loan", loan.id, loan.version)


def loan_out(loan: Loan, figures: LoanFigures) -> LoanOut:
    return LoanOut(
        id=loan.id,
        fund_id=loan.fund_id,
        group_id=loan.group_id,
        group_name_th=loan.group_name_th,
        province_code=loan.province_code,
        principal_satang=loan.principal_satang,
        purpose=loan.purpose,
        status=loan.status,
        term_months=loan.term_months,
        submitted_at=loan.created_at,
        decided_at=loan.decided_at,
        decision_note=loan.decision_note,
        disbursed_on=loan.disbursed_on,
        closed_on=loan.closed_on,
        as_of=figures.as_of,
        paid_satang=figures.paid_satang,
        outstanding_satang=figures.standing.outstanding_satang,
        arrears_satang=figures.standing.arrears_satang,
        days_past_due=figures.standing.days_past_due,
        allowed_actions=[
            a.value for a in allowed_actions(LoanStatus(loan.status)) if a.value not in SYSTEM
        ],
        updated_at=loan.updated_at,
    )


SYSTEM = frozenset({"close", "reopen"})


async def present(session: AsyncSession, loan: Loan, as_of: date) -> LoanOut:
    figures = await LoanService(session).figures([loan], as_of)
    return loan_out(loan, figures[loan.id])


def _location(body: str) -> Mapping[str, str]:
    loan = LoanOut.model_validate_json(body)
    return {"Location": f"/v1/loans/{loan.id}"}


@router.post(
    "",
    status_code=201,
    summary="Apply for a loan",
    response_model=LoanOut,
    responses=problem_responses(400, 401, 403, 409, 422, 503),
)
async def apply_for_loan(
    body: LoanApply,
    request: Request,
    session: DbSession,
    registry: Registry,
    principal: WRITE,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A group applies to a fund; the loan starts `submitted`.

    The group must be known to the registry and not `suspended` or `dissolved`
    (422 otherwise); today (Asia/Bangkok) must be inside the fund's application
    window and the principal inside its range (422). A group that holds an open
    (`submitted`, `approved` or `active`) loan of the fund cannot apply to it again
    (409 `/problems/open-loan-exists`); a loan reopened later by a reversed repayment
    may then stand beside the newer one. When the registry cannot be reached the
    answer is 503 and nothing is stored. A provincial client applies only for its
    province's groups (403).
    """
    today = bangkok_today()

    async def work() -> tuple[LoanOut, Mapping[str, str]]:
        loan = await LoanService(session).apply(principal, body, registry, today)
        return await present(session, loan, today), {
            "Location": f"/v1/loans/{loan.id}",
            "ETag": loan_etag(loan),
        }

    return await run_idempotent(
        session=session,
        principal=principal,
        request=request,
        key=idempotency_key,
        required=False,
        payload=body,
        status_code=201,
        work=work,
        replay_headers=_location,
    )


@router.get(
    "",
    summary="List loans",
    response_model=Page[LoanOut],
    responses=problem_responses(401, 403, 422),
)
async def list_loans(
    session: DbSession,
    page: Pagination,
    principal: READ,
    fund_id: Annotated[uuid.UUID | None, Query()] = None,
    group_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[LoanStatus | None, Query()] = None,
    province: Annotated[
        str | None, Query(pattern=r"^[0-9]{2}$", description="Province code.", examples=["15"])
    ] = None,
    as_of: AsOf = None,
) -> Page[LoanOut]:
    """Loans, oldest application first; filter by fund, group, status or province.
    A provincial client sees its province's loans only (another province's list is
    empty)."""
    day = as_of or bangkok_today()
    if principal.province is not None and province not in (None, principal.province):
        return Page[LoanOut](items=[], next_cursor=None)
    rows = await LoanRepository(session).search(
        province=principal.province or province,
        fund_id=fund_id,
        group_id=group_id,
        status=status.value if status else None,
        after=_after(page.after),
        limit=page.limit + 1,
    )
    items, cursor = paginate(rows, page, lambda loan: (loan.created_at.isoformat(), str(loan.id)))
    figures = await LoanService(session).figures(items, day)
    return Page[LoanOut](
        items=[loan_out(loan, figures[loan.id]) for loan in items], next_cursor=cursor
    )


def _after(values: list[object] | None) -> tuple[datetime, uuid.UUID] | None:
    if values is None:
        return None
    created, loan_id = unpack_cursor(values, as_datetime, as_uuid)
    return created, loan_id


@router.get(
    "/{loan_id}",
    summary="Get a loan with its outstanding, arrears and days past due",
    response_model=LoanOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_loan(
    loan_id: uuid.UUID,
    response: Response,
    session: DbSession,
    principal: READ,
    as_of: AsOf = None,
) -> LoanOut:
    """The loan and its position on `as_of` (default today, Asia/Bangkok):
    `outstanding_satang` (principal not yet repaid), `arrears_satang` (principal
    due before that day and unpaid) and `days_past_due` (counted from the due date
    of the oldest installment not fully paid)."""
    loan = await LoanService(session).get(principal, loan_id)
    response.headers["ETag"] = loan_etag(loan)
    return await present(session, loan, as_of or bangkok_today())


@router.get(
    "/{loan_id}/schedule",
    summary="Get a loan's repayment schedule",
    response_model=ScheduleOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_loan_schedule(
    loan_id: uuid.UUID,
    response: Response,
    session: DbSession,
    principal: READ,
    as_of: AsOf = None,
) -> ScheduleOut:
    """The installments fixed at disbursement (empty before it): `term_months`
    installments, each of the first n−1 the principal ÷ n rounded down to the
    fund's multiple (whole baht), the last taking the rest; installment k due k
    months after the disbursement date (the month's last day where that day does
    not exist). `paid_satang` and `status` are as of `as_of`."""
    day = as_of or bangkok_today()
    loan, installments = await LoanService(session).schedule(principal, loan_id, day)
    response.headers["ETag"] = etag_for("schedule", loan.id, loan.version, day)
    return schedule_out(loan, day, installments)


def schedule_out(loan: Loan, day: date, installments: list[InstallmentView]) -> ScheduleOut:
    return ScheduleOut(
        loan_id=loan.id,
        as_of=day,
        principal_satang=loan.principal_satang,
        installments=[
            InstallmentOut(
                number=i.number,
                due_on=i.due_on,
                principal_satang=i.principal_satang,
                paid_satang=i.paid_satang,
                outstanding_satang=i.principal_satang - i.paid_satang,
                status=i.status,
            )
            for i in installments
        ],
    )


@router.get(
    "/{loan_id}/history",
    summary="List a loan's status changes",
    response_model=LoanHistoryOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_loan_status_changes(
    loan_id: uuid.UUID, session: DbSession, principal: READ
) -> LoanHistoryOut:
    """Every change of the loan's status: which action, by which client, when, and
    the note given."""
    changes = await LoanService(session).history(principal, loan_id)
    return LoanHistoryOut(
        loan_id=loan_id,
        changes=[
            LoanStatusChangeOut(
                action=c.action,
                from_status=c.from_status,
                to_status=c.to_status,
                changed_by=c.changed_by,
                note=c.note,
                changed_at=c.changed_at,
            )
            for c in changes
        ],
    )


Action = Callable[[LoanService, Callable[[Loan], None]], Awaitable[Loan]]
Presenter = Callable[[AsyncSession, Loan, date], Awaitable[LoanOut]]


async def _act(
    *,
    request: Request,
    session: AsyncSession,
    principal: Principal,
    key: str | None,
    payload: LoanActionRequest | DisbursementRequest,
    action: Action,
    presenter: Presenter | None = None,
) -> Response:
    def precondition(loan: Loan) -> None:
        check_if_match(request, loan_etag(loan))

    async def work() -> tuple[LoanOut, Mapping[str, str]]:
        loan = await action(LoanService(session), precondition)
        out = await (presenter or present)(session, loan, bangkok_today())
        return out, {"ETag": loan_etag(loan)}

    return await run_idempotent(
        session=session,
        principal=principal,
        request=request,
        key=key,
        required=False,
        payload=payload,
        status_code=200,
        work=work,
    )


@router.post(
    "/{loan_id}/approve",
    summary="Approve a loan (reserves its principal)",
    response_model=LoanOut,
    responses=REGISTRY_ACTION_ERRORS,
)
async def approve_loan(
    loan_id: uuid.UUID,
    request: Request,
    session: DbSession,
    registry: Registry,
    principal: APPROVE,
    body: Annotated[
        LoanActionRequest | None, Body(examples=ACTION_NOTE_EXAMPLES["approve"])
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """`submitted` → `approved`. Reserves the principal against the fund's budget:
    when the fund cannot cover it the answer is 409 `/problems/budget-exceeded`
    with `available_satang`. However many approvals race, the fund never commits
    more than its budget.

    The registry is asked again whether the group may borrow: a group suspended or
    dissolved since it applied, or one the registry no longer knows, is 409
    `/problems/group-not-eligible` (with `group_status`), and nothing is reserved;
    when the registry cannot be reached, 503 and nothing changes.

    An illegal transition for the loan's status is 409
    `/problems/invalid-loan-transition`. `If-Match` with the loan's ETag acts only
    on the version you read (412 otherwise); an `Idempotency-Key` makes a retry
    return the first response."""
    payload = body or LoanActionRequest()
    today = bangkok_today()
    return await _act(
        request=request,
        session=session,
        principal=principal,
        key=idempotency_key,
        payload=payload,
        action=lambda s, pre: s.approve(principal, loan_id, payload.note, today, registry, pre),
    )


@router.post(
    "/{loan_id}/reject",
    summary="Reject a loan application",
    response_model=LoanOut,
    responses=ACTION_ERRORS,
)
async def reject_loan(
    loan_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: APPROVE,
    body: Annotated[LoanActionRequest | None, Body(examples=ACTION_NOTE_EXAMPLES["reject"])] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """`submitted` → `rejected` (final). An approved loan must have its approval
    undone first.

    An illegal transition for the loan's status is 409
    `/problems/invalid-loan-transition`. `If-Match` with the loan's ETag acts only
    on the version you read (412 otherwise); an `Idempotency-Key` makes a retry
    return the first response."""
    payload = body or LoanActionRequest()
    return await _act(
        request=request,
        session=session,
        principal=principal,
        key=idempotency_key,
        payload=payload,
        action=lambda s, pre: s.reject(principal, loan_id, payload.note, pre),
    )


@router.post(
    "/{loan_id}/withdraw",
    summary="Withdraw a loan application",
    response_model=LoanOut,
    responses=ACTION_ERRORS,
)
async def withdraw_loan(
    loan_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: WRITE,
    body: Annotated[
        LoanActionRequest | None, Body(examples=ACTION_NOTE_EXAMPLES["withdraw"])
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """`submitted` or `approved` → `withdrawn` (final), by the applicant. An
    approved loan's reservation is released back to the fund.

    An illegal transition for the loan's status is 409
    `/problems/invalid-loan-transition`. `If-Match` with the loan's ETag acts only
    on the version you read (412 otherwise); an `Idempotency-Key` makes a retry
    return the first response."""
    payload = body or LoanActionRequest()
    today = bangkok_today()
    return await _act(
        request=request,
        session=session,
        principal=principal,
        key=idempotency_key,
        payload=payload,
        action=lambda s, pre: s.withdraw(principal, loan_id, payload.note, today, pre),
    )


@router.post(
    "/{loan_id}/undo-approval",
    summary="Undo a loan's approval",
    response_model=LoanOut,
    responses=ACTION_ERRORS,
)
async def undo_loan_approval(
    loan_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: APPROVE,
    body: Annotated[
        LoanActionRequest | None, Body(examples=ACTION_NOTE_EXAMPLES["undo_approval"])
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """`approved` → `submitted`, before disbursement only; the reservation is
    released back to the fund.

    An illegal transition for the loan's status is 409
    `/problems/invalid-loan-transition`. `If-Match` with the loan's ETag acts only
    on the version you read (412 otherwise); an `Idempotency-Key` makes a retry
    return the first response."""
    payload = body or LoanActionRequest()
    today = bangkok_today()
    return await _act(
        request=request,
        session=session,
        principal=principal,
        key=idempotency_key,
        payload=payload,
        action=lambda s, pre: s.undo_approval(principal, loan_id, payload.note, today, pre),
    )


async def present_with_schedule(session: AsyncSession, loan: Loan, day: date) -> LoanOut:
    installments = await LoanService(session).installments(loan, day)
    out = await present(session, loan, day)
    return DisbursedLoanOut(**out.model_dump(), schedule=schedule_out(loan, day, installments))


@router.post(
    "/{loan_id}/disburse",
    summary="Disburse a loan (fixes its schedule)",
    response_model=DisbursedLoanOut,
    responses=REGISTRY_ACTION_ERRORS,
)
async def disburse_loan(
    loan_id: uuid.UUID,
    body: DisbursementRequest,
    request: Request,
    session: DbSession,
    registry: Registry,
    principal: APPROVE,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """`approved` → `active`. The reservation becomes a disbursed amount and the
    repayment schedule is fixed from `disbursed_on`; the response carries the loan
    with its `schedule` (as `GET /v1/loans/{id}/schedule` returns it).

    The registry is asked again whether the group may borrow: a group suspended or
    dissolved since it applied, or one the registry no longer knows, is 409
    `/problems/group-not-eligible` and nothing is paid out (the loan stays
    `approved`, its reservation kept); when the registry cannot be reached, 503.

    An illegal transition for the loan's status is 409
    `/problems/invalid-loan-transition`. `If-Match` with the loan's ETag acts only
    on the version you read (412 otherwise); an `Idempotency-Key` makes a retry
    return the first response."""
    today = bangkok_today()
    return await _act(
        request=request,
        session=session,
        principal=principal,
        key=idempotency_key,
        payload=body,
        action=lambda s, pre: s.disburse(
            principal, loan_id, body.disbursed_on, body.note, today, registry, pre
        ),
        presenter=present_with_schedule,
    )
