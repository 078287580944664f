"""A registry process and delivery workers on the live registry database, with retry
timings shortened by settings so that retries happen within a test."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from otog_devstack.postgres import free_port
from otog_devstack.processes import ServiceProcess
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.stack import Databases, app_client, start_service
from tests.support.tokens import TokenFactory
from tests.webhooks.support import Receiver, WorkerProcess, fetch

# Names the test resolver answers for: the registry and the workers each get a map.
REGISTRY_RESOLVE = {
    "partner.example": ["93.184.215.14"],
    "internal.example": ["10.1.2.3"],
    "metadata.example": ["169.254.169.254"],
    "mixed.example": ["93.184.215.14", "192.168.1.1"],
    # Resolves to loopback when subscribed, to a private address at delivery (DNS
    # rebinding): the worker's map below.
    "rebind.example": ["127.0.0.1"],
}
WORKER_RESOLVE = {"rebind.example": ["10.0.0.1"]}

FAST_RETRIES = {
    "REGISTRY_WEBHOOK_RETRY_DELAYS_SECONDS": json.dumps([0.3, 0.6, 1, 1, 1, 1, 1, 1]),
    "REGISTRY_WEBHOOK_RETRY_JITTER": "0.2",
    "REGISTRY_WEBHOOK_LEASE_SECONDS": "4",
    "REGISTRY_WEBHOOK_TIMEOUT_SECONDS": "3",
    "REGISTRY_WEBHOOK_POLL_SECONDS": "0.05",
    "REGISTRY_WEBHOOK_RETRY_AFTER_MAX_SECONDS": "5",
}


@pytest.fixture(scope="session")
def webhooks_registry(
    databases: Databases, data_dir: Path, log_dir: Path
) -> Iterator[ServiceProcess]:
    """A registry process that allows loopback targets (the receivers are local)."""
    proc = start_service(
        "registry",
        databases.live_urls["registry"],
        port=free_port(),
        data_dir=data_dir,
        log_dir=log_dir,
        extra_env={
            "REGISTRY_WEBHOOK_ALLOW_LOOPBACK_HTTP": "true",
            "REGISTRY_WEBHOOK_RESOLVE": json.dumps(REGISTRY_RESOLVE),
            # It knows no other service: were it to win the collector's lock, the
            # live stack's registry would stand by and their events go uncollected.
            "REGISTRY_EVENTS_COLLECT": "false",
        },
    )
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def worker_env(databases: Databases, data_dir: Path) -> dict[str, str]:
    return {
        "REGISTRY_DATABASE_URL": databases.live_urls["registry"],
        "REGISTRY_DATA_DIR": str(data_dir),
        "REGISTRY_LOG_LEVEL": "WARNING",
        "REGISTRY_WEBHOOK_ALLOW_LOOPBACK_HTTP": "true",
        "REGISTRY_WEBHOOK_RESOLVE": json.dumps(WORKER_RESOLVE),
        **FAST_RETRIES,
    }


@pytest.fixture
def start_worker(
    worker_env: dict[str, str], log_dir: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(**overrides: str) -> WorkerProcess:
        proc = WorkerProcess({**worker_env, **overrides}, log_dir / "webhook-worker.log")
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            proc.stop()


@pytest.fixture(autouse=True)
def _no_other_subscriptions(request: pytest.FixtureRequest, databases: Databases) -> None:
    """Each live test starts with no subscriptions and the fan-out at the log's end."""
    if "webhooks_registry" not in request.fixturenames:
        return
    url = databases.live_urls["registry"]
    fetch(url, "TRUNCATE webhook_subscriptions, webhook_deliveries")
    fetch(
        url,
        "INSERT INTO webhook_fanout_cursor (id, position) "
        "VALUES (1, (SELECT coalesce(max(position), 0) FROM event_log)) "
        "ON CONFLICT (id) DO UPDATE SET position = excluded.position",
    )


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(**kwargs: object) -> Receiver:
        receiver = Receiver(**kwargs)  # type: ignore[arg-type]
        made.append(receiver)
        return receiver

    try:
        yield make
    finally:
        for r in made:
            r.close()


class Api:
    """The live registry's webhook endpoints as a client with a given token."""

    def __init__(self, base_url: str, tokens: TokenFactory) -> None:
        self.base_url = base_url
        self.tokens = tokens

    def client(self, *scopes: str, province: str | None = None, client_id: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers=self.tokens.headers(*scopes, province=province, client_id=client_id),
            timeout=10,
        )


@pytest.fixture
def api(webhooks_registry: ServiceProcess, tokens: TokenFactory) -> Api:
    return Api(webhooks_registry.base_url, tokens)


# --- in process, rolled back: the API's rules without the worker ---


@pytest_asyncio.fixture(scope="session")
async def webhooks_app(databases: Databases, data_dir: Path) -> AsyncIterator[FastAPI]:
    from otog_registry.main import create_app
    from otog_registry.settings import RegistrySettings

    app = create_app(
        RegistrySettings(
            database_url=databases.urls["registry"],
            data_dir=data_dir,
            log_json=False,
            webhook_resolve={k: v for k, v in REGISTRY_RESOLVE.items() if k != "rebind.example"},
        )
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture
async def registry_http(
    webhooks_app: FastAPI,
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncSession]]:
    async with app_client(webhooks_app) as pair:
        yield pair
