"""`uvicorn otog_training.main:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI
from otog_shared.app import create_app as create_service_app
from otog_shared.auth import ME_TAG
from otog_shared.http import registry_client_hook
from otog_shared.scheduler import scheduler_hook
from otog_shared.sync.http import SYNC_TAG

from otog_training.courses.router import router as courses_router
from otog_training.enrollments.router import router as enrollments_router
from otog_training.jobs import JOBS
from otog_training.me.router import router as me_router
from otog_training.sessions.router import router as sessions_router
from otog_training.settings import Settings
from otog_training.stats.router import router as stats_router
from otog_training.sync.router import router as sync_router

DESCRIPTION = "Courses, training sessions per area, seats, waitlists, attendance and completion."

OPENAPI_TAGS = [
    {"name": "courses", "description": "The national course catalogue."},
    {
        "name": "training-sessions",
        "description": (
            "Sessions of a course per training area (province): seats, minimum, "
            "lifecycle, and the events told to the people enrolled."
        ),
    },
    {
        "name": "enrollments",
        "description": (
            "Booking seats (confirmed or waitlisted), cancelling, attendance, completion "
            "with certificate numbers, and a group's training progress."
        ),
    },
    {"name": "stats", "description": "Programme dashboard figures."},
    ME_TAG,
    SYNC_TAG,
    {"name": "health", "description": "Liveness and readiness."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    return create_service_app(
        settings,
        service="training",
        title="OTOG Training",
        description=DESCRIPTION,
        routers=[
            courses_router,
            sessions_router,
            enrollments_router,
            stats_router,
            me_router,
            sync_router,
        ],
        openapi_tags=OPENAPI_TAGS,
        hooks=[registry_client_hook(settings), scheduler_hook(JOBS)],
    )
