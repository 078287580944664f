from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.ledger.models import EntryKind, JournalEntry, LedgerAccount

# What a posting writes; ``seq`` and ``posted_at`` are the database's.
ENTRY_COLUMNS = tuple(
    c.key for c in cast(Table, JournalEntry.__table__).c if c.key not in ("seq", "posted_at")
)
# Built once (names from the model): a statement made anew on every posting costs
# more to build and key for the statement cache than it takes the database to run.
_INSERT_ENTRY_SQL = text(
    f"INSERT INTO journal_entries ({', '.join(ENTRY_COLUMNS)})"  # noqa: S608
    f" VALUES ({', '.join(':' + key for key in ENTRY_COLUMNS)})"
    " RETURNING seq, posted_at"
)


@dataclass(frozen=True)
class AccountTotals:
    code: str
    number: int
    name: str
    normal_balance: str
    debits_satang: int
    credits_satang: int


@dataclass(frozen=True)
class FundSnapshot:
    budget_satang: int
    committed_satang: int
    disbursed_satang: int
    repaid_satang: int
    revolving: bool


@dataclass(frozen=True)
class LedgerSnapshot:
    """Account totals and the fund's figures read in one statement (one snapshot):
    the fund's repaid money is its row's plus its unfolded changes, which commit
    with their repayments' journal entries, so the two agree at every moment."""

    accounts: list[AccountTotals]
    fund: FundSnapshot
    disbursed_per_ledger: int


_SNAPSHOT_SQL = text(
    """
    WITH debits AS (
        SELECT debit_account AS code, sum(amount_satang) AS total
        FROM journal_entries WHERE fund_id = :fund_id GROUP BY debit_account
    ), credits AS (
        SELECT credit_account AS code, sum(amount_satang) AS total
        FROM journal_entries WHERE fund_id = :fund_id GROUP BY credit_account
    ), disbursed AS (
        SELECT coalesce(sum(amount_satang), 0) AS total
        FROM journal_entries WHERE fund_id = :fund_id AND kind = 'disbursement'
    ), unfolded AS (
        SELECT coalesce(sum(repaid_satang), 0) AS total
        FROM fund_figure_changes WHERE fund_id = :fund_id
    )
    SELECT a.code, a.number, a.name, a.normal_balance,
           coalesce(d.total, 0)::bigint AS debits,
           coalesce(c.total, 0)::bigint AS credits,
           f.budget_satang, f.committed_satang, f.disbursed_satang,
           f.repaid_satang + (SELECT total FROM unfolded)::bigint AS repaid_satang,
           f.revolving, (SELECT total FROM disbursed)::bigint AS ledger_disbursed
    FROM ledger_accounts a
    JOIN funds f ON f.id = a.fund_id
    LEFT JOIN debits d ON d.code = a.code
    LEFT JOIN credits c ON c.code = a.code
    WHERE a.fund_id = :fund_id
    ORDER BY a.number
    """
)


class LedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_accounts(self, accounts: list[LedgerAccount]) -> None:
        self.session.add_all(accounts)
        await self.session.flush()

    async def add_entry(self, entry: JournalEntry) -> JournalEntry:
        """One INSERT, outside the unit of work (entries are never changed);
        ``entry`` gets its ``seq`` and ``posted_at`` and stays unattached."""
        row = (
            await self.session.execute(
                _INSERT_ENTRY_SQL, {key: getattr(entry, key) for key in ENTRY_COLUMNS}
            )
        ).one()
        entry.seq = row.seq
        entry.posted_at = row.posted_at
        return entry

    async def entries(
        self,
        fund_id: uuid.UUID,
        *,
        after_seq: int | None,
        limit: int,
        loan_id: uuid.UUID | None = None,
        kind: EntryKind | None = None,
    ) -> list[JournalEntry]:
        query = select(JournalEntry).where(JournalEntry.fund_id == fund_id)
        if after_seq is not None:
            query = query.where(JournalEntry.seq > after_seq)
        if loan_id is not None:
            query = query.where(JournalEntry.loan_id == loan_id)
        if kind is not None:
            query = query.where(JournalEntry.kind == kind.value)
        result = await self.session.execute(query.order_by(JournalEntry.seq).limit(limit))
        return list(result.scalars())

    async def accounts(self, fund_id: uuid.UUID) -> list[LedgerAccount]:
        result = await self.session.execute(
            select(LedgerAccount)
            .where(LedgerAccount.fund_id == fund_id)
            .order_by(LedgerAccount.number)
        )
        return list(result.scalars())

    async def entry_for_repayment(self, repayment_id: uuid.UUID) -> JournalEntry | None:
        result = await self.session.execute(
            select(JournalEntry).where(
                JournalEntry.repayment_id == repayment_id,
                JournalEntry.kind == EntryKind.REPAYMENT.value,
            )
        )
        return result.scalar_one_or_none()

    async def count_for_loan(self, loan_id: uuid.UUID) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(JournalEntry).where(JournalEntry.loan_id == loan_id)
        )
        return int(result.scalar_one())

    async def snapshot(self, fund_id: uuid.UUID) -> LedgerSnapshot | None:
        rows = (await self.session.execute(_SNAPSHOT_SQL, {"fund_id": fund_id})).all()
        if not rows:
            return None
        first = rows[0]
        return LedgerSnapshot(
            accounts=[
                AccountTotals(
                    code=r.code,
                    number=r.number,
                    name=r.name,
                    normal_balance=r.normal_balance,
                    debits_satang=int(r.debits),
                    credits_satang=int(r.credits),
                )
                for r in rows
            ],
            fund=FundSnapshot(
                budget_satang=first.budget_satang,
                committed_satang=first.committed_satang,
                disbursed_satang=first.disbursed_satang,
                repaid_satang=first.repaid_satang,
                revolving=first.revolving,
            ),
            disbursed_per_ledger=int(first.ledger_disbursed),
        )
