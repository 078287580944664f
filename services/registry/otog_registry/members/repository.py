from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.groups.models import Group, Membership
from otog_registry.workers.models import Worker


class MemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_if_allowed(self, values: dict[str, object]) -> Membership | None:
        """Insert a membership unless a unique index refuses it (already a current
        member, or a second current leader); None then."""
        stmt = insert(Membership).values(**values).on_conflict_do_nothing().returning(Membership)
        return (await self.session.scalars(stmt)).one_or_none()

    async def current(self, group_id: uuid.UUID, worker_id: uuid.UUID) -> Membership | None:
        stmt = select(Membership).where(
            Membership.group_id == group_id,
            Membership.worker_id == worker_id,
            Membership.left_at.is_(None),
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def current_leader(self, group_id: uuid.UUID) -> Membership | None:
        stmt = select(Membership).where(
            Membership.group_id == group_id,
            Membership.role == "leader",
            Membership.left_at.is_(None),
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def end(
        self, membership_id: uuid.UUID, *, at: datetime, by: str | None
    ) -> Membership | None:
        stmt = (
            update(Membership)
            .where(Membership.id == membership_id, Membership.left_at.is_(None))
            .values(left_at=at, removed_by=by)
            .returning(Membership)
        )
        result = await self.session.scalars(stmt, execution_options={"populate_existing": True})
        return result.one_or_none()

    async def of_group(
        self,
        group_id: uuid.UUID,
        *,
        include_former: bool,
        role: str | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[tuple[Membership, Worker]]:
        stmt = (
            select(Membership, Worker)
            .join(Worker, Worker.id == Membership.worker_id)
            .where(Membership.group_id == group_id)
            .order_by(Membership.id)
            .limit(limit)
        )
        if not include_former:
            stmt = stmt.where(Membership.left_at.is_(None))
        if role is not None:
            stmt = stmt.where(Membership.role == role)
        if after is not None:
            stmt = stmt.where(Membership.id > after)
        return [(m, w) for m, w in (await self.session.execute(stmt)).all()]

    async def of_worker(
        self,
        worker_id: uuid.UUID,
        *,
        province: str | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[tuple[Membership, Group]]:
        stmt = (
            select(Membership, Group)
            .join(Group, Group.id == Membership.group_id)
            .where(Membership.worker_id == worker_id)
            .order_by(Membership.id)
            .limit(limit)
        )
        if province is not None:
            stmt = stmt.where(Group.province_code == province)
        if after is not None:
            stmt = stmt.where(Membership.id > after)
        return [(m, g) for m, g in (await self.session.execute(stmt)).all()]
