from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.geography.models import District, Province, Subdistrict
from otog_registry.groups.models import Group
from otog_registry.groups.stages import INACTIVE
from otog_registry.products.models import Product


@dataclass(frozen=True)
class CatalogFilter:
    province: str | None = None
    district: str | None = None
    occupation: str | None = None
    premium: bool | None = None
    q: str | None = None


class CatalogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def products(
        self, filters: CatalogFilter, *, after: uuid.UUID | None, limit: int
    ) -> list[tuple[Product, Group, Subdistrict, District, Province]]:
        stmt = (
            select(Product, Group, Subdistrict, District, Province)
            .join(Group, Group.id == Product.group_id)
            .join(Subdistrict, Subdistrict.code == Group.subdistrict_code)
            .join(District, District.code == Group.district_code)
            .join(Province, Province.code == Group.province_code)
            .where(Product.is_available.is_(True), Group.status.not_in([s.value for s in INACTIVE]))
            .order_by(Product.id)
            .limit(limit)
        )
        if filters.province:
            stmt = stmt.where(Group.province_code == filters.province)
        if filters.district:
            stmt = stmt.where(Group.district_code == filters.district)
        if filters.occupation:
            stmt = stmt.where(Group.occupation == filters.occupation)
        if filters.premium is not None:
            stmt = stmt.where(Product.is_premium.is_(filters.premium))
        if filters.q:
            stmt = stmt.where(
                Product.name_th.icontains(filters.q, autoescape=True)
                | Product.name_en.icontains(filters.q, autoescape=True)
            )
        if after is not None:
            stmt = stmt.where(Product.id > after)
        return [(r[0], r[1], r[2], r[3], r[4]) for r in await self.session.execute(stmt)]
