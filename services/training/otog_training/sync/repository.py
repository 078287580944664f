"""Training's entities for a page of sync, each collection in one query."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otog_training.enrollments.models import Enrollment, EnrollmentStatus
from otog_training.sessions.models import TrainingSession


class SyncRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sessions(
        self, ids: Sequence[uuid.UUID], province: str | None
    ) -> list[TrainingSession]:
        query = select(TrainingSession).where(TrainingSession.id.in_(ids))
        if province is not None:
            query = query.where(TrainingSession.province_code == province)
        return list(await self.session.scalars(query))

    async def enrollments(self, ids: Sequence[uuid.UUID], province: str | None) -> list[Enrollment]:
        # A cancelled enrolment is a tombstone.
        query = (
            select(Enrollment)
            .join(TrainingSession, TrainingSession.id == Enrollment.session_id)
            .where(Enrollment.id.in_(ids), Enrollment.status != EnrollmentStatus.CANCELLED)
        )
        if province is not None:
            query = query.where(TrainingSession.province_code == province)
        return list(await self.session.scalars(query))
