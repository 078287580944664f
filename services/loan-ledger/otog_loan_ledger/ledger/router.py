from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Security
from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.pagination import Page, Pagination, as_int, paginate, unpack_cursor

from otog_loan_ledger.funds.service import FundService
from otog_loan_ledger.ledger.models import EntryKind, JournalEntry
from otog_loan_ledger.ledger.repository import LedgerRepository
from otog_loan_ledger.ledger.schemas import (
    AccountBalanceOut,
    LedgerEntryOut,
    LedgerLineOut,
    ReconciliationOut,
    TrialBalanceOut,
)
from otog_loan_ledger.ledger.service import LedgerService

router = APIRouter(prefix="/v1/funds/{fund_id}", tags=["ledger"])

READ = Annotated[Principal, Security(authenticate, scopes=["loans:read"])]


def entry_out(entry: JournalEntry) -> LedgerEntryOut:
    return LedgerEntryOut(
        id=entry.id,
        seq=entry.seq,
        kind=entry.kind,
        effective_on=entry.effective_on,
        posted_at=entry.posted_at,
        description=entry.description,
        amount_satang=entry.amount_satang,
        loan_id=entry.loan_id,
        repayment_id=entry.repayment_id,
        top_up_id=entry.top_up_id,
        reverses_entry_id=entry.reverses_entry_id,
        lines=[
            LedgerLineOut(
                account=entry.debit_account, debit_satang=entry.amount_satang, credit_satang=0
            ),
            LedgerLineOut(
                account=entry.credit_account, debit_satang=0, credit_satang=entry.amount_satang
            ),
        ],
    )


@router.get(
    "/ledger",
    summary="List a fund's journal entries",
    response_model=Page[LedgerEntryOut],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_ledger_entries(
    fund_id: uuid.UUID,
    session: DbSession,
    page: Pagination,
    principal: READ,
    loan_id: Annotated[uuid.UUID | None, Query(description="Only this loan's entries.")] = None,
    kind: Annotated[EntryKind | None, Query(description="Only entries of this kind.")] = None,
) -> Page[LedgerEntryOut]:
    """Every money movement of the fund, oldest first, as balanced entries of one
    debit and one credit. Entries are never edited or deleted; a correction is a
    later entry that names the entry it reverses.

    A provincial client may read only its own province's funds' ledgers (403 for
    a national fund's)."""
    await FundService.of(session).get_for_ledger(principal, fund_id)
    after_seq = _after_seq(page.after)
    rows = await LedgerRepository(session).entries(
        fund_id, after_seq=after_seq, limit=page.limit + 1, loan_id=loan_id, kind=kind
    )
    items, cursor = paginate(rows, page, lambda e: (e.seq,))
    return Page[LedgerEntryOut](items=[entry_out(e) for e in items], next_cursor=cursor)


def _after_seq(values: list[object] | None) -> int | None:
    if values is None:
        return None
    seq: int = unpack_cursor(values, as_int)[0]
    return seq


@router.get(
    "/trial-balance",
    summary="Get a fund's trial balance",
    response_model=TrialBalanceOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_trial_balance(
    fund_id: uuid.UUID, session: DbSession, principal: READ
) -> TrialBalanceOut:
    """Totals per account, checked two ways: total debits equal total credits, and
    each of the fund's figures (budget, available, committed, disbursed, repaid)
    equals what the ledger says. Read from one database snapshot."""
    await FundService.of(session).get_for_ledger(principal, fund_id)
    trial = await LedgerService(LedgerRepository(session)).trial_balance(fund_id)
    assert trial is not None  # the fund exists, so do its accounts
    return TrialBalanceOut(
        fund_id=trial.fund_id,
        accounts=[
            AccountBalanceOut(
                code=a.code,
                number=a.number,
                name=a.name,
                normal_balance=a.normal_balance,
                debits_satang=a.debits_satang,
                credits_satang=a.credits_satang,
                debit_balance_satang=a.debit_balance_satang,
                credit_balance_satang=a.credit_balance_satang,
                balance_satang=a.balance_satang,
            )
            for a in trial.accounts
        ],
        total_debits_satang=trial.total_debits_satang,
        total_credits_satang=trial.total_credits_satang,
        total_debit_balances_satang=trial.total_debit_balances_satang,
        total_credit_balances_satang=trial.total_credit_balances_satang,
        balanced=trial.balanced,
        reconciliation=[
            ReconciliationOut(
                figure=r.figure,
                fund_satang=r.fund_satang,
                ledger_satang=r.ledger_satang,
                matches=r.matches,
            )
            for r in trial.reconciliation
        ],
        reconciled=trial.reconciled,
    )
