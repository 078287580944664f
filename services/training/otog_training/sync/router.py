"""`GET /v1/sync/sessions` and `GET /v1/sync/enrollments` (see ``otog_shared.sync``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from otog_shared.db import DbSession
from otog_shared.sync.http import add_sync_routes
from otog_shared.sync.service import Loader, SyncCollection

from otog_training.enrollments.schemas import EnrollmentRead
from otog_training.sessions.schemas import SessionRead
from otog_training.sync.repository import SyncRepository
from otog_training.sync.service import TrainingSync

router = APIRouter()


async def sessions_loader(session: DbSession) -> Loader[Any]:
    return TrainingSync(SyncRepository(session)).load_sessions


async def enrollments_loader(session: DbSession) -> Loader[Any]:
    return TrainingSync(SyncRepository(session)).load_enrollments


add_sync_routes(
    router,
    [
        SyncCollection(
            "sessions",
            "training:read",
            SessionRead,
            sessions_loader,
            "Training sessions as `GET /v1/training-sessions/{id}` shows them, seat counts "
            "included.",
        ),
        SyncCollection(
            "enrollments",
            "training:read",
            EnrollmentRead,
            enrollments_loader,
            "Enrolments in the province's sessions; a cancelled enrolment is a tombstone.",
        ),
    ],
)
