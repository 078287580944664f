from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.products.models import Certification, Product


class ProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, product: Product) -> Product:
        self.session.add(product)
        await self.session.flush()
        await self.session.refresh(product)
        return product

    async def get(self, product_id: uuid.UUID, *, for_update: bool = False) -> Product | None:
        stmt = select(Product).where(Product.id == product_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).one_or_none()

    async def of_group(
        self, group_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> list[Product]:
        stmt = select(Product).where(Product.group_id == group_id).order_by(Product.id).limit(limit)
        if after is not None:
            stmt = stmt.where(Product.id > after)
        return list((await self.session.scalars(stmt)).all())

    async def add_certification(self, values: dict[str, object]) -> Certification | None:
        """None when the product already has this standard's certificate number."""
        stmt = (
            insert(Certification)
            .values(**values)
            .on_conflict_do_nothing(constraint="uq_certifications_number")
            .returning(Certification)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def certifications_of(
        self, product_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[Certification]]:
        found: dict[uuid.UUID, list[Certification]] = defaultdict(list)
        if not product_ids:
            return found
        stmt = (
            select(Certification)
            .where(Certification.product_id.in_(product_ids))
            .order_by(Certification.id)
        )
        for cert in await self.session.scalars(stmt):
            found[cert.product_id].append(cert)
        return found
