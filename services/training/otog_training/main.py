"""`uvicorn otog_training.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from otog_shared.app import create_app as create_service_app
from otog_shared.http import ServiceClient

from otog_training.settings import Settings

DESCRIPTION = "Courses, training sessions per area, seats, waitlists, attendance and completion."

OPENAPI_TAGS = [
    {"name": "health", "description": "Liveness and readiness."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def registry_client(app: FastAPI) -> AsyncIterator[None]:
        app.state.registry = ServiceClient(
            settings.registry_url,
            name="registry",
            timeout=settings.http_timeout_seconds,
            connect_timeout=settings.http_connect_timeout_seconds,
            retries=settings.http_retries,
        )
        try:
            yield
        finally:
            await app.state.registry.aclose()

    return create_service_app(
        settings,
        service="training",
        title="OTOG Training",
        description=DESCRIPTION,
        routers=[],
        openapi_tags=OPENAPI_TAGS,
        hooks=[registry_client],
    )
