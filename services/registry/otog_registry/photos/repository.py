from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.groups.models import Group
from otog_registry.photos.models import Photo
from otog_registry.products.models import Product
from otog_registry.visits.models import FieldVisit


class PhotoRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, photo_id: uuid.UUID) -> Photo | None:
        return await self.session.get(Photo, photo_id)

    async def with_group(self, photo_id: uuid.UUID) -> tuple[Photo, Group] | None:
        """The photo and the group of its product or visit (whose province rules)."""
        stmt = (
            select(Photo, Group)
            .outerjoin(Product, Product.id == Photo.product_id)
            .outerjoin(FieldVisit, FieldVisit.id == Photo.visit_id)
            .join(Group, Group.id.in_([Product.group_id, FieldVisit.group_id]))
            .where(Photo.id == photo_id)
        )
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def insert(self, values: dict[str, Any]) -> Photo | None:
        """The new row, or None when a photo with this id exists (sent twice at once)."""
        stmt = (
            insert(Photo)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(Photo)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def delete(self, photo_id: uuid.UUID) -> None:
        await self.session.execute(delete(Photo).where(Photo.id == photo_id))

    async def of_products(self, product_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Photo]]:
        if not product_ids:
            return {}
        stmt = select(Photo).where(Photo.product_id.in_(product_ids)).order_by(Photo.id)
        found: dict[uuid.UUID, list[Photo]] = defaultdict(list)
        for photo in await self.session.scalars(stmt):
            assert photo.product_id is not None
            found[photo.product_id].append(photo)
        return found

    async def of_visits(self, visit_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Photo]]:
        if not visit_ids:
            return {}
        stmt = select(Photo).where(Photo.visit_id.in_(visit_ids)).order_by(Photo.id)
        found: dict[uuid.UUID, list[Photo]] = defaultdict(list)
        for photo in await self.session.scalars(stmt):
            assert photo.visit_id is not None
            found[photo.visit_id].append(photo)
        return found
