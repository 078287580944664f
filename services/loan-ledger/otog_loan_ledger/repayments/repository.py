from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import TextClause, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.ledger.models import JournalEntry
from otog_loan_ledger.ledger.repository import ENTRY_COLUMNS
from otog_loan_ledger.repayments.models import Repayment, RepaymentReversal


def _post_sql(*, append_fund_change: bool) -> TextClause:
    """A repayment's writes in one statement (one round trip instead of four): the
    repayment, its journal entry, the installments it fills and, when the fund's
    figures take changes (``FundFigureChange``), the fund's change. Foreign keys
    are checked at the end of the statement, when the repayment is there for the
    entry that names it."""
    fund_change = (
        """, fund_change AS (
            INSERT INTO fund_figure_changes (fund_id, repaid_satang)
            VALUES (:entry_fund_id, :amount_satang)
        )"""
        if append_fund_change
        else ""
    )
    return text(
        f"""
        WITH repayment AS (
            INSERT INTO repayments (id, loan_id, amount_satang, paid_on, reference, recorded_by)
            VALUES (:id, :loan_id, :amount_satang, :paid_on, :reference, :recorded_by)
            RETURNING seq, recorded_at
        ), entry AS (
            INSERT INTO journal_entries ({", ".join(ENTRY_COLUMNS)})
            VALUES ({", ".join(":entry_" + key for key in ENTRY_COLUMNS)})
            RETURNING seq, posted_at
        ), installments AS (
            UPDATE installments i SET paid_satang = p.paid
            FROM unnest(CAST(:numbers AS integer[]), CAST(:paid AS bigint[])) AS p(number, paid)
            WHERE i.loan_id = :loan_id AND i.number = p.number
        ){fund_change}
        SELECT r.seq, r.recorded_at, e.seq AS entry_seq, e.posted_at
        FROM repayment r, entry e
        """  # noqa: S608 - names from the model, values bound
    )


# Built once: a statement made anew on every call costs more to build and key
# for the statement cache than it takes the database to run.
_POST_SQL = {append: _post_sql(append_fund_change=append) for append in (False, True)}


@dataclass(frozen=True)
class InstallmentPaid:
    number: int
    principal_satang: int
    paid_satang: int


@dataclass(frozen=True)
class LoanPosition:
    """What a new repayment of a locked loan is measured against, read in one
    statement: the schedule as paid so far and the repayments that count."""

    installments: list[InstallmentPaid]
    counted_satang: int
    # The repayments that count before one paid on the day asked about: those
    # paid that day or earlier (a new repayment is the latest recorded).
    counted_before_satang: int
    last_paid_on: date | None


# Read after the loan's lock is taken, in a statement of its own: a snapshot taken
# before the lock was granted would miss the repayment that held it.
_POSITION_SQL = text(
    """
    WITH counted AS (
        SELECT coalesce(sum(r.amount_satang), 0)::bigint AS total,
               coalesce(sum(r.amount_satang) FILTER (WHERE r.paid_on <= :paid_on), 0)::bigint
                   AS before,
               max(r.paid_on) AS last_paid_on
        FROM repayments r
        LEFT JOIN repayment_reversals v ON v.repayment_id = r.id
        WHERE r.loan_id = :loan_id AND v.repayment_id IS NULL
    ), schedule AS (
        SELECT coalesce(array_agg(i.number ORDER BY i.number), '{}') AS numbers,
               coalesce(array_agg(i.principal_satang ORDER BY i.number), '{}') AS principals,
               coalesce(array_agg(i.paid_satang ORDER BY i.number), '{}') AS paid
        FROM installments i
        WHERE i.loan_id = :loan_id
    )
    SELECT c.total, c.before, c.last_paid_on, s.numbers, s.principals, s.paid
    FROM counted c, schedule s
    """
)


class RepaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def post(
        self,
        *,
        repayment_id: uuid.UUID,
        loan_id: uuid.UUID,
        amount_satang: int,
        paid_on: date,
        reference: str | None,
        recorded_by: str,
        entry: JournalEntry,
        paid: Sequence[tuple[int, int]],
        append_fund_change: bool,
    ) -> Repayment:
        """Write a repayment of a locked loan with its journal ``entry``, the
        installments' new ``paid`` amounts ((number, paid) pairs) and, if asked,
        the fund's change (see ``_post_sql``). Outside the unit of work: none of
        these rows is tracked (repayments and entries are never changed, and
        installments are read again wherever they are shown). Returns the
        repayment as stored, not attached to the session; ``entry`` gets its
        ``seq`` and ``posted_at``."""
        row = (
            await self.session.execute(
                _POST_SQL[append_fund_change],
                {
                    "id": repayment_id,
                    "loan_id": loan_id,
                    "amount_satang": amount_satang,
                    "paid_on": paid_on,
                    "reference": reference,
                    "recorded_by": recorded_by,
                    "numbers": [number for number, _ in paid],
                    "paid": [amount for _, amount in paid],
                    **{f"entry_{key}": getattr(entry, key) for key in ENTRY_COLUMNS},
                },
            )
        ).one()
        entry.seq = row.entry_seq
        entry.posted_at = row.posted_at
        recorded_at: datetime = row.recorded_at
        return Repayment(
            id=repayment_id,
            seq=row.seq,
            loan_id=loan_id,
            amount_satang=amount_satang,
            paid_on=paid_on,
            reference=reference,
            recorded_by=recorded_by,
            recorded_at=recorded_at,
        )

    async def position(self, loan_id: uuid.UUID, paid_on: date) -> LoanPosition:
        row = (
            await self.session.execute(_POSITION_SQL, {"loan_id": loan_id, "paid_on": paid_on})
        ).one()
        return LoanPosition(
            installments=[
                InstallmentPaid(number, principal, paid)
                for number, principal, paid in zip(
                    row.numbers, row.principals, row.paid, strict=True
                )
            ],
            counted_satang=int(row.total),
            counted_before_satang=int(row.before),
            last_paid_on=row.last_paid_on,
        )

    async def add_reversal(self, reversal: RepaymentReversal) -> None:
        self.session.add(reversal)
        await self.session.flush()

    async def get(self, loan_id: uuid.UUID, repayment_id: uuid.UUID) -> Repayment | None:
        result = await self.session.execute(
            select(Repayment).where(Repayment.id == repayment_id, Repayment.loan_id == loan_id)
        )
        return result.scalar_one_or_none()

    async def of_loan(
        self, loan_id: uuid.UUID, *, after_seq: int | None = None, limit: int | None = None
    ) -> list[Repayment]:
        """Repayments in the order they were recorded."""
        query = select(Repayment).where(Repayment.loan_id == loan_id)
        if after_seq is not None:
            query = query.where(Repayment.seq > after_seq)
        query = query.order_by(Repayment.seq)
        if limit is not None:
            query = query.limit(limit)
        return list((await self.session.execute(query)).scalars())

    async def counted(self, loan_id: uuid.UUID) -> list[Repayment]:
        """Repayments that count (not reversed), in the order they are allocated:
        by payment date, then by the order they were recorded."""
        result = await self.session.execute(
            select(Repayment)
            .outerjoin(RepaymentReversal, RepaymentReversal.repayment_id == Repayment.id)
            .where(Repayment.loan_id == loan_id, RepaymentReversal.repayment_id.is_(None))
            .order_by(Repayment.paid_on, Repayment.seq)
        )
        return list(result.scalars())

    async def reversals(self, repayment_ids: list[uuid.UUID]) -> dict[uuid.UUID, RepaymentReversal]:
        if not repayment_ids:
            return {}
        result = await self.session.execute(
            select(RepaymentReversal).where(RepaymentReversal.repayment_id.in_(repayment_ids))
        )
        return {r.repayment_id: r for r in result.scalars()}
