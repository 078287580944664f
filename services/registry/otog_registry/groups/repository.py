from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.groups.models import Group, PrototypeSelection, StageChange


@dataclass(frozen=True)
class GroupFilter:
    province: str | None = None
    district: str | None = None
    subdistrict: str | None = None
    status: str | None = None
    occupation: str | None = None


class GroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, group: Group) -> Group:
        self.session.add(group)
        await self.session.flush()
        await self.session.refresh(group)
        return group

    async def get(self, group_id: uuid.UUID, *, for_update: bool = False) -> Group | None:
        stmt = select(Group).where(Group.id == group_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).one_or_none()

    async def find(
        self, filters: GroupFilter, *, after: uuid.UUID | None, limit: int
    ) -> list[Group]:
        stmt = select(Group).order_by(Group.id).limit(limit)
        if filters.province:
            stmt = stmt.where(Group.province_code == filters.province)
        if filters.district:
            stmt = stmt.where(Group.district_code == filters.district)
        if filters.subdistrict:
            stmt = stmt.where(Group.subdistrict_code == filters.subdistrict)
        if filters.status:
            stmt = stmt.where(Group.status == filters.status)
        if filters.occupation:
            stmt = stmt.where(Group.occupation == filters.occupation)
        if after is not None:
            stmt = stmt.where(Group.id > after)
        return list((await self.session.scalars(stmt)).all())

    async def add_stage_change(self, change: StageChange) -> StageChange:
        self.session.add(change)
        await self.session.flush()
        await self.session.refresh(change)
        return change

    async def last_stage_change(self, group_id: uuid.UUID) -> StageChange | None:
        stmt = (
            select(StageChange)
            .where(StageChange.group_id == group_id)
            .order_by(StageChange.id.desc())
            .limit(1)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def list_stage_changes(
        self, group_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> list[StageChange]:
        stmt = (
            select(StageChange)
            .where(StageChange.group_id == group_id)
            .order_by(StageChange.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(StageChange.id > after)
        return list((await self.session.scalars(stmt)).all())

    async def claim_prototype(
        self, *, subdistrict_code: str, fiscal_year: int, group_id: uuid.UUID, change_id: uuid.UUID
    ) -> bool:
        """Make the group its subdistrict's prototype for the year, unless another
        group already is. The primary key decides, so racing requests cannot both win."""
        stmt = (
            insert(PrototypeSelection)
            .values(
                subdistrict_code=subdistrict_code,
                fiscal_year=fiscal_year,
                group_id=group_id,
                stage_change_id=change_id,
            )
            .on_conflict_do_nothing()
            .returning(PrototypeSelection.group_id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def prototype_of(self, subdistrict_code: str, fiscal_year: int) -> uuid.UUID | None:
        stmt = select(PrototypeSelection.group_id).where(
            PrototypeSelection.subdistrict_code == subdistrict_code,
            PrototypeSelection.fiscal_year == fiscal_year,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
