"""The app factory every service is built with."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from otog_shared.auth import KeyProvider, TokenVerifier
from otog_shared.db import create_engine, create_session_slots, create_sessionmaker
from otog_shared.errors import (
    DatabaseUnavailable,
    ProblemError,
    install_error_handlers,
    problem_responses,
)
from otog_shared.events import OutboxReader, outbox_router
from otog_shared.idempotency.http import document_idempotency_key
from otog_shared.logs import configure_logging
from otog_shared.metrics import RequestMetricsMiddleware, metrics_router
from otog_shared.metrics import leave as leave_metrics
from otog_shared.middleware import RequestContextMiddleware
from otog_shared.openapi import install as install_openapi
from otog_shared.routing import install as install_routing
from otog_shared.settings import ServiceSettings

Hook = Callable[[FastAPI], AbstractAsyncContextManager[None]]

log = logging.getLogger("otog.app")


class ShuttingDown(ProblemError):
    """The process was told to stop: it finishes what it has and takes nothing new."""

    status, slug, title = 503, "shutting-down", "Service Unavailable"


def operation_id(route: APIRoute) -> str:
    """The endpoint function's name, e.g. ``create_group``.

    Client generators turn operation ids into method and module names: a plain
    snake_case id becomes ``create_group`` in every language, where ``groups:create_group``
    became ``groupscreate_group``. So ids must be unique across the three services'
    merged document, which the merge checks.
    """
    return route.name


class Health(BaseModel):
    """`ok` while the process is up (liveness); `ready` when its database answers too."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "ok", "service": "registry", "version": "1.0.0"},
                {"status": "ready", "service": "loan-ledger", "version": "1.0.0"},
            ]
        }
    )

    status: str
    service: str
    version: str


def health_router(service: str, version: str) -> APIRouter:
    router = APIRouter(prefix="/v1/health", tags=["health"])

    @router.get("", summary="Liveness", response_model=Health)
    async def liveness() -> Health:
        """Answers while the process is up; touches nothing else."""
        return Health(status="ok", service=service, version=version)

    @router.get(
        "/ready",
        summary="Readiness",
        response_model=Health,
        responses=problem_responses(503),
    )
    async def readiness(request: Request) -> Any:
        """Answers 200 only when the service's database answers, and 503 from the
        moment the process is told to stop."""
        if getattr(request.app.state, "draining", False):
            raise ShuttingDown("This instance is shutting down; another one will answer.")
        try:
            async with request.app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            raise DatabaseUnavailable("The database is not reachable.") from exc
        return Health(status="ready", service=service, version=version)

    return router


def create_app(
    settings: ServiceSettings,
    *,
    service: str,
    title: str,
    description: str,
    version: str = "1.0.0",
    routers: Sequence[APIRouter] = (),
    openapi_tags: list[dict[str, Any]] | None = None,
    own_keys: Callable[[FastAPI], KeyProvider] | None = None,
    hooks: Sequence[Hook] = (),
) -> FastAPI:
    """Build a service: lifespan (engine, token verifier, hooks), errors, middleware, health."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(service, settings.log_level, settings.log_json)
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.session_slots = create_session_slots(settings)
        app.state.outbox_reader = OutboxReader.of(settings)
        app.state.settings = settings
        app.state.token_verifier = TokenVerifier.from_settings(
            settings, own_keys(app) if own_keys else None
        )
        app.state.draining = False
        _drain_on_sigterm(app, settings.shutdown_drain_seconds)
        try:
            async with _chain(app, hooks):
                # What is alive now (modules, the app, SQLAlchemy's and pydantic's
                # machinery: some 140,000 objects) lives as long as the process. Left
                # in the collector's generations, every full collection walks all of
                # it, and a bulk import or a burst of requests triggers many; frozen,
                # they are skipped (the import's Python CPU per row fell by a sixth).
                gc.collect()
                gc.freeze()
                yield
        finally:
            await app.state.token_verifier.aclose()
            await app.state.outbox_reader.close()
            await engine.dispose()
            leave_metrics()

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        openapi_url="/v1/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        openapi_tags=openapi_tags,
        generate_unique_id_function=operation_id,
        separate_input_output_schemas=False,
    )
    app.state.settings = settings
    install_error_handlers(app)
    install_openapi(app)
    document_idempotency_key(app)
    app.add_middleware(RequestContextMiddleware)
    # Outermost: the time and status of every answer, the error handlers' too.
    app.add_middleware(RequestMetricsMiddleware)
    # Every service has an outbox; the registry's collector reads it through this.
    install_routing(
        app, [health_router(service, version), metrics_router(), outbox_router, *routers]
    )
    return app


def _drain_on_sigterm(app: FastAPI, seconds: float) -> None:
    """Put a drain before uvicorn's graceful shutdown.

    On SIGTERM uvicorn closes its listening socket at once, finishes the requests in
    flight (``--timeout-graceful-shutdown``), and only then runs the lifespan's
    shutdown: by the time the app would hear of it, nobody could ask it for
    readiness any more. So the signal is taken here first: readiness answers 503
    for ``seconds`` while the process still serves, then uvicorn's own handler
    (installed before the lifespan starts) runs its graceful shutdown.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    uvicorns = signal.getsignal(signal.SIGTERM)
    if not callable(uvicorns) or seconds <= 0:
        return
    loop = asyncio.get_running_loop()

    def stop(sig: int) -> None:
        uvicorns(sig, None)

    def begin(sig: int) -> None:
        if app.state.draining:
            return
        app.state.draining = True
        log.info("SIGTERM: readiness now 503; stopping in %.1f s", seconds)
        loop.call_later(seconds, stop, sig)

    def on_sigterm(sig: int, _frame: object) -> None:
        # A signal handler runs between two bytecodes of whatever the loop was
        # doing: hand over to the loop rather than touch it from here.
        loop.call_soon_threadsafe(begin, sig)

    signal.signal(signal.SIGTERM, on_sigterm)


@asynccontextmanager
async def _chain(app: FastAPI, hooks: Sequence[Hook]) -> AsyncIterator[None]:
    if not hooks:
        yield
        return
    async with hooks[0](app), _chain(app, hooks[1:]):
        yield
