"""Training's sync collections, in the representations their GETs return."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from otog_shared.auth import Principal

from otog_training.enrollments.schemas import EnrollmentRead
from otog_training.sessions.schemas import SessionRead
from otog_training.sync.repository import SyncRepository


class TrainingSync:
    def __init__(self, repository: SyncRepository) -> None:
        self.repository = repository

    async def load_sessions(
        self, principal: Principal, ids: Sequence[uuid.UUID], province: str | None
    ) -> dict[uuid.UUID, SessionRead]:
        rows = await self.repository.sessions(ids, province)
        return {s.id: SessionRead.model_validate(s) for s in rows}

    async def load_enrollments(
        self, principal: Principal, ids: Sequence[uuid.UUID], province: str | None
    ) -> dict[uuid.UUID, EnrollmentRead]:
        rows = await self.repository.enrollments(ids, province)
        return {e.id: EnrollmentRead.model_validate(e) for e in rows}
