"""Prometheus metrics, the same in every service: ``GET /metrics`` on the service's
own port (never routed by the gateway, not in the OpenAPI document).

A service runs as several uvicorn worker processes, and as several replicas of
those. Each replica (one uvicorn supervisor and its workers) is one scrape target:
its workers write their values to files in ``PROMETHEUS_MULTIPROC_DIR`` (one
directory per replica, emptied before it starts) and whichever worker answers a
scrape adds them all up, so a counter counts the replica's requests and not one
worker's. Without that variable (a service run in-process by the tests) the
values live in the process.

Business counters are declared where the business happens, one line each::

    BOOKINGS = metrics.counter("otog_training_bookings_total", "…", ("outcome",))
    metrics.count_on_commit(session, BOOKINGS, outcome="confirmed")

``count_on_commit`` counts when the request's transaction commits, so a request
that fails after the service decided (a lost commit, a 409 raised later) counts
nothing. Refusals, which roll back by definition, are counted when they are
raised with ``counter.labels(...).inc()`` or ``counter.inc()``.

The webhook delivery worker counts ``otog_webhook_deliveries_total{outcome}``
(``delivered``, ``failed``: to be retried, ``abandoned``) into the registry's directory.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Route templates only: a raw path would put ids in labels, one series per group.
UNMATCHED_ROUTE = "unmatched"

# From a cached read (a few ms) to a bulk import's minutes.
LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)

HTTP_REQUESTS = Counter(
    "otog_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ("method", "route", "status"),
)
HTTP_LATENCY = Histogram(
    "otog_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by route template.",
    ("method", "route"),
    buckets=LATENCY_BUCKETS,
)
# Gauges of live processes only ("livesum"): a worker that exits takes its share along.
HTTP_IN_PROGRESS = Gauge(
    "otog_http_requests_in_progress",
    "Requests being handled right now.",
    ("method",),
    multiprocess_mode="livesum",
)
DB_POOL_IN_USE = Gauge(
    "otog_db_pool_connections_in_use",
    "Database connections checked out of the engine's pool.",
    multiprocess_mode="livesum",
)
DB_SLOTS_IN_USE = Gauge(
    "otog_db_session_slots_in_use",
    "Requests holding one of the database session slots (one per pooled connection).",
    multiprocess_mode="livesum",
)
DB_SLOTS_WAITING = Gauge(
    "otog_db_session_slots_waiting",
    "Requests waiting for a database session slot: the pool is the bottleneck.",
    multiprocess_mode="livesum",
)

_COUNTERS: dict[str, Counter] = {}


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
    """A counter registered once per process, whoever asks for it first."""
    if name not in _COUNTERS:
        _COUNTERS[name] = Counter(name, documentation, tuple(labels))
    return _COUNTERS[name]


_PENDING = "otog.metrics.pending"


def count_on_commit(session: Any, metric: Counter, amount: float = 1, **labels: str) -> None:
    """Count ``amount`` on ``metric`` when ``session`` (an ``AsyncSession`` or
    ``Session``) commits; nothing when it rolls back."""
    sync = getattr(session, "sync_session", session)
    child = metric.labels(**labels) if labels else metric
    sync.info.setdefault(_PENDING, []).append((child, amount))


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for child, amount in session.info.pop(_PENDING, ()):
        child.inc(amount)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def watch_pool(engine: Engine) -> None:
    """Keep ``otog_db_pool_connections_in_use`` with the engine's pool."""

    @event.listens_for(engine, "checkout")
    def _checkout(*_: object) -> None:
        DB_POOL_IN_USE.inc()

    @event.listens_for(engine, "checkin")
    def _checkin(*_: object) -> None:
        DB_POOL_IN_USE.dec()


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


class RequestMetricsMiddleware:
    """Counts and times every HTTP request by its route template (known once the
    router has matched it, which writes the route into the shared scope)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        in_progress = HTTP_IN_PROGRESS.labels(method)
        in_progress.inc()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            in_progress.dec()
            route = _route_template(scope)
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()


# Files of gauges that only count while their process lives: gauge_livesum_1234.db.
_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w*?_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_dead_workers(directory: str) -> list[int]:
    """Drop the live gauges of worker processes that are gone.

    uvicorn's supervisor restarts a worker that dies but tells nobody, so the files
    a killed worker left would keep its in-use connections and requests in the sums
    for ever. Each scrape looks for them instead (a directory listing)."""
    dead = []
    for name in os.listdir(directory):
        match = _LIVE_GAUGE_FILE.match(name)
        if match and not _alive(int(match[1])):
            dead.append(int(match[1]))
    for pid in set(dead):
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
    return sorted(set(dead))


def leave() -> None:
    """Called as a worker stops: its live gauges stop counting."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory and Path(directory).is_dir():
        multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


def render() -> bytes:
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return generate_latest(REGISTRY)
    mark_dead_workers(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def metrics_router() -> APIRouter:
    router = APIRouter()

    # A plain function: reading the workers' files runs in the thread pool, off the loop.
    @router.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        return Response(render(), media_type=CONTENT_TYPE_LATEST)

    return router
