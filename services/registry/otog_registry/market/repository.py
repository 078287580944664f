from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.market.models import MarketLink


class MarketLinkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_once(self, values: dict[str, Any]) -> MarketLink | None:
        """None when this client already used this idempotency key."""
        stmt = (
            insert(MarketLink)
            .values(**values)
            .on_conflict_do_nothing(constraint="uq_market_links_idempotency")
            .returning(MarketLink)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def by_idempotency_key(self, recorded_by: str | None, key: str) -> MarketLink | None:
        stmt = select(MarketLink).where(
            MarketLink.recorded_by == recorded_by, MarketLink.idempotency_key == key
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def of_group(
        self, group_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> list[MarketLink]:
        stmt = (
            select(MarketLink)
            .where(MarketLink.group_id == group_id)
            .order_by(MarketLink.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(MarketLink.id > after)
        return list((await self.session.scalars(stmt)).all())

    async def summary(
        self, group_id: uuid.UUID, between: tuple[date, date] | None
    ) -> list[tuple[str, int, int, date, date]]:
        """Per partner: links, sales (satang), first and last date."""
        stmt = (
            select(
                MarketLink.partner,
                func.count(),
                func.coalesce(func.sum(MarketLink.sales_satang), 0),
                func.min(MarketLink.occurred_on),
                func.max(MarketLink.occurred_on),
            )
            .where(MarketLink.group_id == group_id)
            .group_by(MarketLink.partner)
            .order_by(MarketLink.partner)
        )
        if between is not None:
            stmt = stmt.where(MarketLink.occurred_on.between(*between))
        return [
            (r[0], int(r[1]), int(r[2] or 0), r[3], r[4]) for r in await self.session.execute(stmt)
        ]
