from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import TextClause, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from otog_loan_ledger.ledger.models import JournalEntry
from otog_loan_ledger.ledger.repository import ENTRY_COLUMNS
from otog_loan_ledger.loans.models import Loan
from otog_loan_ledger.repayments.models import Repayment, RepaymentReversal


def _post_sql(*, append_fund_change: bool, touch_loan: bool) -> TextClause:
    """A repayment's writes in one statement (one round trip instead of five): the
    repayment, its journal entry, the installments it fills, when the fund's
    figures take changes (``FundFigureChange``) the fund's change and, when the
    loan stays open, the loan's version and ``updated_at``. Foreign keys are
    checked at the end of the statement, when the repayment is there for the
    entry that names it."""
    fund_change = (
        """, fund_change AS (
            INSERT INTO fund_figure_changes (fund_id, repaid_satang)
            VALUES (:entry_fund_id, :amount_satang)
        )"""
        if append_fund_change
        else ""
    )
    # The version guard of the loan's mapping (``version_id_col``), as the ORM's
    # own UPDATE has it: a loan that moved on is not found, the statement gives
    # no row, and the request fails with nothing written.
    loan, loan_version, loan_from = (
        (
            """, loan AS (
            UPDATE loans SET version = version + 1, updated_at = :loan_updated_at
            WHERE id = :loan_id AND version = :loan_version
            RETURNING version
        )""",
            ", l.version AS loan_version",
            ", loan l",
        )
        if touch_loan
        else ("", "", "")
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
        ){fund_change}{loan}
        SELECT r.seq, r.recorded_at, e.seq AS entry_seq, e.posted_at{loan_version}
        FROM repayment r, entry e{loan_from}
        """  # noqa: S608 - names from the model, values bound
    )


# Built once: a statement made anew on every call costs more to build and key
# for the statement cache than it takes the database to run.
_POST_SQL = {
    (append, touch): _post_sql(append_fund_change=append, touch_loan=touch)
    for append in (False, True)
    for touch in (False, True)
}


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
# before the lock was granted would miss the repayment that held it. Not folded
# into the locking statement: one that waited for the lock re-reads only the locked
# row at its newest version (EvalPlanQual), and every other table it reads (in a
# subquery, CTE or join alike) from its snapshot taken before the wait.
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
        loan: Loan,
        amount_satang: int,
        paid_on: date,
        reference: str | None,
        recorded_by: str,
        entry: JournalEntry,
        paid: Sequence[tuple[int, int]],
        append_fund_change: bool,
        loan_moved_on_at: datetime | None,
    ) -> Repayment:
        """Write a repayment of a locked ``loan`` with its journal ``entry``, the
        installments' new ``paid`` amounts ((number, paid) pairs) and, if asked,
        the fund's change (see ``_post_sql``). With ``loan_moved_on_at`` (a loan
        that stays open: nothing of it but its version changes), the loan's
        version and ``updated_at`` move on as a flush of the loan with nothing
        else changed would, and the loan in memory gets the new values as its
        committed state. Outside the unit of work: none of the other rows is
        tracked (repayments and entries are never changed, and installments are
        read again wherever they are shown). Returns the repayment as stored,
        not attached to the session; ``entry`` gets its ``seq`` and
        ``posted_at``."""
        touch_loan = loan_moved_on_at is not None
        params: dict[str, object] = {
            "id": repayment_id,
            "loan_id": loan.id,
            "amount_satang": amount_satang,
            "paid_on": paid_on,
            "reference": reference,
            "recorded_by": recorded_by,
            "numbers": [number for number, _ in paid],
            "paid": [amount for _, amount in paid],
            **{f"entry_{key}": getattr(entry, key) for key in ENTRY_COLUMNS},
        }
        if touch_loan:
            params["loan_version"] = loan.version
            params["loan_updated_at"] = loan_moved_on_at
        row = (await self.session.execute(_POST_SQL[append_fund_change, touch_loan], params)).one()
        if touch_loan:
            set_committed_value(loan, "version", row.loan_version)
            set_committed_value(loan, "updated_at", loan_moved_on_at)
        entry.seq = row.entry_seq
        entry.posted_at = row.posted_at
        recorded_at: datetime = row.recorded_at
        return Repayment(
            id=repayment_id,
            seq=row.seq,
            loan_id=loan.id,
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
