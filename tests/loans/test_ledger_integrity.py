"""The ledger is append-only in the database itself, and the fund's budget has a
CHECK constraint behind the guarded update."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.loans.conftest import Auth, create_fund


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE journal_entries SET amount_satang = amount_satang + 1 WHERE fund_id = :f",
        "UPDATE journal_entries SET description = 'edited' WHERE fund_id = :f",
        "DELETE FROM journal_entries WHERE fund_id = :f",
        "UPDATE ledger_accounts SET name = 'x' WHERE fund_id = :f",
        "DELETE FROM ledger_accounts WHERE fund_id = :f",
    ],
)
async def test_ledger_rows_cannot_be_changed(
    loans: httpx.AsyncClient, auth: Auth, db: AsyncSession, statement: str
) -> None:
    fund = await create_fund(loans, auth)
    fund_id = uuid.UUID(fund["id"])
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(text(statement), {"f": fund_id})
    count = await db.execute(
        text("SELECT count(*), sum(amount_satang) FROM journal_entries WHERE fund_id = :f"),
        {"f": fund_id},
    )
    assert tuple(count.one()) == (1, 500_000_000)


async def test_budget_check_constraint_backs_the_guard(
    loans: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    fund = await create_fund(loans, auth)
    with pytest.raises(DBAPIError, match="ck_funds_within_budget"):
        async with db.begin_nested():
            await db.execute(
                text("UPDATE funds SET committed_satang = budget_satang + 1 WHERE id = :f"),
                {"f": uuid.UUID(fund["id"])},
            )


async def test_entries_are_balanced_by_construction(
    loans: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    fund = await create_fund(loans, auth)
    with pytest.raises(DBAPIError, match="ck_journal_entries_two_accounts"):
        async with db.begin_nested():
            await db.execute(
                text(
                    "INSERT INTO journal_entries (id, fund_id, kind, debit_account, credit_account,"
                    " amount_satang, effective_on, description, recorded_by) VALUES (:id, :f,"
                    " 'repayment', 'collections', 'collections', 1, current_date, 'x', 't')"
                ),
                {"id": uuid.uuid4(), "f": uuid.UUID(fund["id"])},
            )
