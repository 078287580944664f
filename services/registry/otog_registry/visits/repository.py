from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.visits.models import FieldVisit


class VisitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, visit: FieldVisit) -> FieldVisit:
        self.session.add(visit)
        await self.session.flush()
        await self.session.refresh(visit)
        return visit

    async def get(self, visit_id: uuid.UUID) -> FieldVisit | None:
        return await self.session.get(FieldVisit, visit_id)

    async def of_group(
        self, group_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> list[FieldVisit]:
        stmt = (
            select(FieldVisit)
            .where(FieldVisit.group_id == group_id)
            .order_by(FieldVisit.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(FieldVisit.id > after)
        return list((await self.session.scalars(stmt)).all())
