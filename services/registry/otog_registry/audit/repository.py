from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.audit.models import AuditEvent


@dataclass(frozen=True)
class AuditFilter:
    entity_type: str | None = None
    entity_id: uuid.UUID | None = None
    actor: str | None = None
    actor_person: str | None = None
    request_id: str | None = None
    action: str | None = None
    province: str | None = None


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(
        self, filters: AuditFilter, *, after: int | None, limit: int
    ) -> list[AuditEvent]:
        stmt = select(AuditEvent).order_by(AuditEvent.id).limit(limit)
        if filters.entity_type:
            stmt = stmt.where(AuditEvent.entity_type == filters.entity_type)
        if filters.entity_id:
            stmt = stmt.where(AuditEvent.entity_id == filters.entity_id)
        if filters.actor:
            stmt = stmt.where(AuditEvent.actor == filters.actor)
        if filters.actor_person:
            stmt = stmt.where(AuditEvent.actor_person == filters.actor_person)
        if filters.request_id:
            stmt = stmt.where(AuditEvent.request_id == filters.request_id)
        if filters.action:
            stmt = stmt.where(AuditEvent.action == filters.action)
        if filters.province:
            stmt = stmt.where(AuditEvent.province_code == filters.province)
        if after is not None:
            stmt = stmt.where(AuditEvent.id > after)
        return list((await self.session.scalars(stmt)).all())
