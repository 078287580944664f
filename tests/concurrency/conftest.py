"""The stack the randomized concurrency test runs against: the real registry, training
and loan-ledger processes (three uvicorn workers each, so races also cross processes)
behind a real nginx gateway of its own, and API clients whose tokens come from the
gateway's token endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from otog_devstack.postgres import free_port, plain_url
from otog_devstack.processes import ServiceProcess

from tests.concurrency.support import Run
from tests.support.gateway import FUNCTIONAL_LIMITS, wait_for_gateway
from tests.support.stack import Databases

# The same processes as tests/training and tests/loans use for their races, so a
# whole run starts them once.
WORKERS = 3


@pytest.fixture(scope="module")
def run() -> Run:
    return Run.from_env()


@pytest_asyncio.fixture(scope="module")
async def service_clients_registered(
    databases: Databases, service_client_env: dict[str, dict[str, str]]
) -> None:
    """Other suites empty the live registry between their tests, API clients included:
    put back the clients training and the loan ledger use to ask the registry."""
    from otog_registry.oauth.service import hash_secret

    conn = await asyncpg.connect(plain_url(databases.live_urls["registry"]))
    try:
        for name, prefix in (("training", "TRAINING"), ("loan-ledger", "LOANS")):
            env = service_client_env[name]
            await conn.execute(
                "INSERT INTO api_clients (id, client_id, name, secret_hash, scopes) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (client_id) DO NOTHING",
                uuid.uuid4(),
                env[f"{prefix}_REGISTRY_CLIENT_ID"],
                f"{name} service",
                hash_secret(env[f"{prefix}_REGISTRY_CLIENT_SECRET"]),
                ["registry:read"],
            )
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def chaos_gateway(
    service_processes: Callable[..., ServiceProcess],
    live_registry: ServiceProcess,
    service_clients_registered: None,
    log_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The gateway's base URL, in front of multi-process training and loan ledger."""
    from otog_devstack import nginx
    from otog_devstack.processes import stop_group

    training = service_processes("training", workers=WORKERS)
    loans = service_processes("loan-ledger", workers=WORKERS)
    binary = nginx.ensure_nginx()
    port = free_port()
    conf = nginx.write_config(
        nginx.GatewayConfig(
            gateway_port=port,
            registry_port=live_registry.port,
            training_port=training.port,
            loan_ledger_port=loans.port,
            run_dir=tmp_path_factory.mktemp("chaos-gateway"),
            log_dir=log_dir,
            worker_processes="1",
            proxy_read_timeout="60s",
            **FUNCTIONAL_LIMITS,
        )
    )
    proc = nginx.start(binary, conf, log_dir / "chaos-gateway.log")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_gateway(url, proc, log_dir)
        yield url
    finally:
        stop_group(proc.pid)


@pytest_asyncio.fixture(scope="module")
async def office_credentials(databases: Databases) -> list[dict[str, str]]:
    """Two offices (API clients) that do everything the test does; Idempotency-Keys are
    per client, so re-sends go out under the client that sent the first."""
    from otog_registry.cli import _create

    scopes = [
        "registry:read",
        "registry:write",
        "training:read",
        "training:write",
        "loans:read",
        "loans:write",
        "loans:approve",
    ]

    return [
        await _create(databases.live_urls["registry"], f"chaos office {n}", scopes, None)
        for n in (1, 2)
    ]
