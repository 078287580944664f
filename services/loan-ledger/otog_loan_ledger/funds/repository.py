from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.funds.models import AVAILABLE_SQL, Fund, FundFigureChange, FundTopUp
from otog_loan_ledger.ledger.models import EntryKind, JournalEntry

_AVAILABLE: ColumnElement[int] = literal_column(f"({AVAILABLE_SQL})")


@dataclass(frozen=True)
class Reservation:
    """The fund as a successful reservation left it."""

    available_satang: int
    budget_satang: int
    province_code: str | None


# Moves the fund's changes into its row: the ones this statement's snapshot sees,
# which, the row being locked first (``FundRepository.lock``), are all those
# committed before it. A repayment committing meanwhile keeps its change for the
# next fold. The version moves only when the figures' parts move.
_FOLD_SQL = text(
    """
    WITH folded AS (
        DELETE FROM fund_figure_changes WHERE fund_id = :fund_id RETURNING repaid_satang
    ), total AS (
        SELECT coalesce(sum(repaid_satang), 0)::bigint AS repaid FROM folded
    )
    UPDATE funds
    SET repaid_satang = repaid_satang + total.repaid,
        version = version + CASE WHEN total.repaid > 0 THEN 1 ELSE 0 END,
        updated_at = CASE WHEN total.repaid > 0 THEN now() ELSE updated_at END
    FROM total
    WHERE id = :fund_id
    RETURNING total.repaid
    """
)


def _top_ups_with_entries() -> Select[FundTopUp, uuid.UUID]:
    return select(FundTopUp, JournalEntry.id).join(
        JournalEntry,
        (JournalEntry.top_up_id == FundTopUp.id) & (JournalEntry.kind == EntryKind.TOP_UP.value),
    )


class FundRepository:
    """Reads funds, and changes their figures only with single guarded statements."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, fund: Fund) -> Fund:
        self.session.add(fund)
        await self.session.flush()
        return fund

    async def get(self, fund_id: uuid.UUID) -> Fund | None:
        result = await self.session.execute(
            select(Fund).where(Fund.id == fund_id).execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def get_by_name(self, name: str) -> Fund | None:
        result = await self.session.execute(select(Fund).where(Fund.name == name))
        return result.scalar_one_or_none()

    async def search(
        self,
        *,
        province: str | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Fund]:
        query = select(Fund)
        if province is not None:
            # National funds are open to every province.
            query = query.where(or_(Fund.province_code.is_(None), Fund.province_code == province))
        if after is not None:
            query = query.where(tuple_(Fund.created_at, Fund.id) > tuple_(*after))
        result = await self.session.execute(query.order_by(Fund.created_at, Fund.id).limit(limit))
        return list(result.scalars())

    async def lock(self, fund_id: uuid.UUID) -> None:
        """Take the fund's row lock until the commit, before any fold.

        The rule of the fund's figures: what can only raise what the fund has
        available (a repayment, a top-up, a released reservation) may happen
        without this lock; whatever lowers it (a reservation, the reversal of a
        repayment) or folds the changes takes it first. Holding it, a fold sees
        every change committed before and nobody can fold or reserve meanwhile,
        so the budget check that follows is exact: a repayment that commits
        after the fold's snapshot only adds money the check did not count (the
        cap errs on the safe side, never over). And every fold locking the row
        before it deletes changes, no two folds wait on each other's changes.

        ``FOR NO KEY UPDATE`` is the lock an UPDATE takes: it leaves alone the
        key-share lock with which repayments' inserts check their foreign keys.
        """
        result = await self.session.execute(
            select(Fund.id).where(Fund.id == fund_id).with_for_update(key_share=True)
        )
        if result.first() is None:
            raise LookupError(f"fund {fund_id} vanished")

    async def fold(self, fund_id: uuid.UUID) -> int:
        """Add the fund's unfolded changes to its row; the caller holds the row's
        lock (``lock``). Returns the money folded."""
        result = await self.session.execute(_FOLD_SQL, {"fund_id": fund_id})
        row = result.first()
        if row is None:
            raise LookupError(f"fund {fund_id} vanished")
        return int(row[0])

    async def with_changes(self) -> list[uuid.UUID]:
        """Funds that have unfolded changes, in the order their rows are locked."""
        result = await self.session.execute(
            select(FundFigureChange.fund_id).distinct().order_by(FundFigureChange.fund_id)
        )
        return list(result.scalars())

    async def reserve(self, fund_id: uuid.UUID, amount: int) -> Reservation | None:
        """Commit ``amount`` of the budget if, and only if, the fund's row can
        cover it (call it after ``lock`` and ``fold`` for an exact answer).

        One statement: concurrent reservations queue on the fund's row and each
        re-checks the condition against the row as the previous one left it, so
        the budget holds across any number of processes. The ``within_budget``
        CHECK constraint is the backstop. The figure returned is the row's,
        which the fold has just brought up to date.
        """
        result = await self.session.execute(
            update(Fund)
            .where(Fund.id == fund_id, amount <= _AVAILABLE)
            .values(
                committed_satang=Fund.committed_satang + amount,
                version=Fund.version + 1,
                updated_at=func.now(),
            )
            .returning(_AVAILABLE, Fund.budget_satang, Fund.province_code)
            .execution_options(synchronize_session=False)
        )
        row = result.first()
        return Reservation(int(row[0]), int(row[1]), row[2]) if row is not None else None

    async def raise_budget(self, fund_id: uuid.UUID, amount: int, ceiling: int) -> bool:
        """Add ``amount`` to the budget unless that takes it over ``ceiling``.

        One statement on the fund's row, like a reservation: an approval queued
        behind it re-checks its guard against the raised budget, one that went
        first is already counted in the row it raises, so the cap stays exact.
        """
        result = await self.session.execute(
            update(Fund)
            .where(Fund.id == fund_id, Fund.budget_satang <= ceiling - amount)
            .values(
                budget_satang=Fund.budget_satang + amount,
                version=Fund.version + 1,
                updated_at=func.now(),
            )
            .returning(Fund.id)
            .execution_options(synchronize_session=False)
        )
        return result.first() is not None

    async def add_top_up(self, top_up: FundTopUp) -> FundTopUp:
        self.session.add(top_up)
        await self.session.flush()
        return top_up

    async def top_ups(
        self, fund_id: uuid.UUID, *, after_seq: int | None, limit: int
    ) -> list[tuple[FundTopUp, uuid.UUID]]:
        """The fund's top-ups in the order they were recorded, each with the id of
        the journal entry that posted it."""
        query = _top_ups_with_entries().where(FundTopUp.fund_id == fund_id)
        if after_seq is not None:
            query = query.where(FundTopUp.seq > after_seq)
        result = await self.session.execute(query.order_by(FundTopUp.seq).limit(limit))
        return [(top_up, entry_id) for top_up, entry_id in result.all()]

    async def top_up(
        self, fund_id: uuid.UUID, top_up_id: uuid.UUID
    ) -> tuple[FundTopUp, uuid.UUID] | None:
        result = await self.session.execute(
            _top_ups_with_entries().where(FundTopUp.fund_id == fund_id, FundTopUp.id == top_up_id)
        )
        row = result.first()
        return None if row is None else (row[0], row[1])

    async def release(self, fund_id: uuid.UUID, amount: int) -> None:
        await self._change(fund_id, committed_satang=Fund.committed_satang - amount)

    async def disburse(self, fund_id: uuid.UUID, amount: int) -> None:
        await self._change(
            fund_id,
            committed_satang=Fund.committed_satang - amount,
            disbursed_satang=Fund.disbursed_satang + amount,
        )

    async def add_repaid(self, fund_id: uuid.UUID, amount: int) -> None:
        """The repayment added to the fund's row itself (``LOANS_FUND_CHANGES=false``)."""
        await self._change(fund_id, folded_repaid_satang=Fund.folded_repaid_satang + amount)

    async def remove_repaid(self, fund_id: uuid.UUID, amount: int) -> bool:
        """Take back a repayment. In a revolving fund the money may already be
        lent again; then the reversal would break the budget and is refused.
        Like ``reserve``: exact after ``lock`` and ``fold``."""
        result = await self.session.execute(
            update(Fund)
            .where(
                Fund.id == fund_id,
                Fund.folded_repaid_satang >= amount,
                or_(Fund.revolving.is_(False), amount <= _AVAILABLE),
            )
            .values(
                folded_repaid_satang=Fund.folded_repaid_satang - amount,
                version=Fund.version + 1,
                updated_at=func.now(),
            )
            .returning(Fund.id)
            .execution_options(synchronize_session=False)
        )
        return result.first() is not None

    async def _change(self, fund_id: uuid.UUID, **values: object) -> None:
        result = await self.session.execute(
            update(Fund)
            .where(Fund.id == fund_id)
            .values(version=Fund.version + 1, updated_at=func.now(), **values)
            .returning(Fund.id)
            .execution_options(synchronize_session=False)
        )
        if result.first() is None:
            raise LookupError(f"fund {fund_id} vanished")
