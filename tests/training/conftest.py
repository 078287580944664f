"""Training fixtures: the in-process training app (rolled back per test) talking to a
real registry process, and helpers to make courses, sessions and registry workers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from otog_devstack.postgres import free_port, plain_url
from otog_devstack.processes import ServiceProcess
from otog_training.main import create_app
from otog_training.settings import Settings
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.stack import Databases, app_client
from tests.support.tokens import TokenFactory


def training_settings(
    databases: Databases,
    live_registry: ServiceProcess,
    service_client_env: dict[str, dict[str, str]],
    *,
    registry_url: str | None = None,
) -> Settings:
    env = service_client_env["training"]
    return Settings(
        database_url=databases.urls["training"],
        jwks_url=f"{live_registry.base_url}/v1/.well-known/jwks.json",
        registry_url=registry_url or live_registry.base_url,
        registry_client_id=env["TRAINING_REGISTRY_CLIENT_ID"],
        registry_client_secret=env["TRAINING_REGISTRY_CLIENT_SECRET"],
        log_json=False,
        http_retries=1,
    )


@pytest_asyncio.fixture(autouse=True)
async def training_client_registered(
    databases: Databases, service_client_env: dict[str, dict[str, str]]
) -> None:
    """Other suites empty the live registry database between their tests, API clients
    included; put this service's client back (same id and secret) so the training
    service can still get a token for its calls to the registry."""
    from otog_registry.oauth.service import hash_secret

    env = service_client_env["training"]
    client_id = env["TRAINING_REGISTRY_CLIENT_ID"]
    conn = await asyncpg.connect(plain_url(databases.live_urls["registry"]))
    try:
        await conn.execute(
            "INSERT INTO api_clients (id, client_id, name, secret_hash, scopes) "
            "VALUES ($1, $2, 'training service', $3, $4) ON CONFLICT (client_id) DO NOTHING",
            uuid.uuid4(),
            client_id,
            hash_secret(env["TRAINING_REGISTRY_CLIENT_SECRET"]),
            ["registry:read"],
        )
    finally:
        await conn.close()


@pytest_asyncio.fixture(scope="session")
async def training_app(
    databases: Databases,
    live_registry: ServiceProcess,
    service_client_env: dict[str, dict[str, str]],
) -> AsyncIterator[FastAPI]:
    settings = training_settings(databases, live_registry, service_client_env)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture(scope="session")
async def training_app_registry_down(
    databases: Databases,
    live_registry: ServiceProcess,
    service_client_env: dict[str, dict[str, str]],
) -> AsyncIterator[FastAPI]:
    """The same service, configured with a registry URL where nothing listens."""
    settings = training_settings(
        databases,
        live_registry,
        service_client_env,
        registry_url=f"http://127.0.0.1:{free_port()}",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture
async def training_session(
    training_app: FastAPI,
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncSession]]:
    async with app_client(training_app) as pair:
        yield pair


@pytest.fixture
def training(training_session: tuple[httpx.AsyncClient, AsyncSession]) -> httpx.AsyncClient:
    """HTTP client on the in-process training service (rolled back after the test)."""
    return training_session[0]


@pytest.fixture
def db(training_session: tuple[httpx.AsyncClient, AsyncSession]) -> AsyncSession:
    """The test's database session (inside the same rolled-back transaction)."""
    return training_session[1]


@pytest_asyncio.fixture
async def live_registry_client(live_registry: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_registry.base_url, timeout=10) as client:
        yield client


@pytest.fixture
def writer(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers("training:read", "training:write")


@pytest.fixture
def reader(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers("training:read")
