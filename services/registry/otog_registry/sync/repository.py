"""The registry's entities for a page of sync, each collection in one query."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.groups.models import Group, Membership
from otog_registry.market.models import MarketLink
from otog_registry.products.models import Product
from otog_registry.visits.models import FieldVisit
from otog_registry.workers.models import Worker


def _in_province(query: Select[Any], province_code: Any, province: str | None) -> Select[Any]:
    return query if province is None else query.where(province_code == province)


class SyncRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def workers(self, ids: Sequence[uuid.UUID], province: str | None) -> list[Worker]:
        query = select(Worker).where(Worker.id.in_(ids))
        return list(await self.session.scalars(_in_province(query, Worker.province_code, province)))

    async def groups(self, ids: Sequence[uuid.UUID], province: str | None) -> list[Group]:
        query = select(Group).where(Group.id.in_(ids))
        return list(await self.session.scalars(_in_province(query, Group.province_code, province)))

    async def members(
        self, ids: Sequence[uuid.UUID], province: str | None
    ) -> list[tuple[Membership, Worker]]:
        # Only current memberships: one that ended is a tombstone.
        query = (
            select(Membership, Worker)
            .join(Worker, Worker.id == Membership.worker_id)
            .join(Group, Group.id == Membership.group_id)
            .where(Membership.id.in_(ids), Membership.left_at.is_(None))
        )
        if province is not None:
            query = query.where(Group.province_code == province)
        rows = await self.session.execute(query)
        return [(m, w) for m, w in rows.tuples()]

    async def of_groups(
        self, model: type[Any], ids: Sequence[uuid.UUID], province: str | None
    ) -> list[Any]:
        """Products, visits or market links: the province is their group's."""
        query = select(model).join(Group, Group.id == model.group_id).where(model.id.in_(ids))
        return list(await self.session.scalars(_in_province(query, Group.province_code, province)))

    async def products(self, ids: Sequence[uuid.UUID], province: str | None) -> list[Product]:
        return await self.of_groups(Product, ids, province)

    async def visits(self, ids: Sequence[uuid.UUID], province: str | None) -> list[FieldVisit]:
        return await self.of_groups(FieldVisit, ids, province)

    async def market_links(
        self, ids: Sequence[uuid.UUID], province: str | None
    ) -> list[MarketLink]:
        return await self.of_groups(MarketLink, ids, province)
