from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, func, literal_column, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.funds.models import AVAILABLE_SQL, Fund

_AVAILABLE: ColumnElement[int] = literal_column(f"({AVAILABLE_SQL})")


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

    async def reserve(self, fund_id: uuid.UUID, amount: int) -> bool:
        """Commit ``amount`` of the budget if, and only if, it is still available.

        One statement: concurrent reservations queue on the fund's row and each
        re-checks the condition against the row as the previous one left it, so
        the budget holds across any number of processes. The ``within_budget``
        CHECK constraint is the backstop.
        """
        result = await self.session.execute(
            update(Fund)
            .where(Fund.id == fund_id, amount <= _AVAILABLE)
            .values(
                committed_satang=Fund.committed_satang + amount,
                version=Fund.version + 1,
                updated_at=func.now(),
            )
            .returning(Fund.id)
            .execution_options(synchronize_session=False)
        )
        return result.first() is not None

    async def release(self, fund_id: uuid.UUID, amount: int) -> None:
        await self._change(fund_id, committed_satang=Fund.committed_satang - amount)

    async def disburse(self, fund_id: uuid.UUID, amount: int) -> None:
        await self._change(
            fund_id,
            committed_satang=Fund.committed_satang - amount,
            disbursed_satang=Fund.disbursed_satang + amount,
        )

    async def add_repaid(self, fund_id: uuid.UUID, amount: int) -> None:
        await self._change(fund_id, repaid_satang=Fund.repaid_satang + amount)

    async def remove_repaid(self, fund_id: uuid.UUID, amount: int) -> bool:
        """Take back a repayment. In a revolving fund the money may already be
        lent again; then the reversal would break the budget and is refused."""
        result = await self.session.execute(
            update(Fund)
            .where(
                Fund.id == fund_id,
                Fund.repaid_satang >= amount,
                or_(Fund.revolving.is_(False), amount <= _AVAILABLE),
            )
            .values(
                repaid_satang=Fund.repaid_satang - amount,
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
