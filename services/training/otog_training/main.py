"""`uvicorn otog_training.main:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI
from otog_shared.app import create_app as create_service_app
from otog_shared.http import registry_client_hook

from otog_training.settings import Settings

DESCRIPTION = "Courses, training sessions per area, seats, waitlists, attendance and completion."

OPENAPI_TAGS = [
    {"name": "health", "description": "Liveness and readiness."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    return create_service_app(
        settings,
        service="training",
        title="OTOG Training",
        description=DESCRIPTION,
        routers=[],
        openapi_tags=OPENAPI_TAGS,
        hooks=[registry_client_hook(settings)],
    )
