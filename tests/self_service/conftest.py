"""A stand-in for the national digital ID, and a gateway whose registry trusts it.

The identity provider is a key pair made by the test and a JWKS document served
over HTTP by a small server the test starts; ID tokens are signed here. Nothing
reaches the real provider.

The registry that trusts it is one more registry process on the live database and
data directory (so the same signing key and national-ID keys) behind its own nginx;
training and the loan ledger are the live stack's processes.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from otog_devstack.postgres import free_port

from tests.conftest import Stack
from tests.support.gateway import FUNCTIONAL_LIMITS, wait_for_gateway
from tests.support.stack import Databases, start_service

ISSUER = "https://imauth.test.example/realms/citizen"
AUDIENCE = "otog-mol-th"


class IdentityProvider:
    """Signs ID tokens with an EC P-256 key and serves the public key as a JWKS."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = uuid.uuid4().hex
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**public, "kid": self.kid, "alg": "ES256", "use": "sig"}]}
        self.jwks_requests = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                provider.jwks_requests += 1
                body = json.dumps(provider.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.jwks_url = f"http://127.0.0.1:{self.server.server_port}/jwks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def id_token(
        self,
        pid: str | None,
        *,
        key: Any = None,
        algorithm: str = "ES256",
        kid: str | None = None,
        **overrides: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": uuid.uuid4().hex,
            "pid": pid,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "name": "สมศรี ทดสอบ",
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(
            claims,
            self.key if key is None else key,
            algorithm=algorithm,
            headers={"kid": kid or self.kid},
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def identity_provider() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    try:
        yield provider
    finally:
        provider.close()


@pytest.fixture(scope="session")
def citizen_stack(
    live_stack: Stack,
    databases: Databases,
    identity_provider: IdentityProvider,
    data_dir: Path,
    log_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """A gateway whose registry exchanges the stand-in provider's ID tokens."""
    from otog_devstack import nginx
    from otog_devstack.processes import stop_group

    registry = start_service(
        "registry",
        databases.live_urls["registry"],
        port=free_port(),
        data_dir=data_dir,
        log_dir=log_dir,
        extra_env={
            "REGISTRY_CITIZEN_ID_ISSUER": ISSUER,
            "REGISTRY_CITIZEN_ID_JWKS_URL": identity_provider.jwks_url,
            "REGISTRY_CITIZEN_ID_AUDIENCE": AUDIENCE,
        },
    )
    proc = None
    try:
        gateway_port = free_port()
        log = log_dir / "citizen-gateway"
        log.mkdir(exist_ok=True)
        conf = nginx.write_config(
            nginx.GatewayConfig(
                gateway_port=gateway_port,
                registry_port=registry.port,
                training_port=live_stack.services["training"].port,
                loan_ledger_port=live_stack.services["loan-ledger"].port,
                run_dir=tmp_path_factory.mktemp("citizen-gateway"),
                log_dir=log,
                worker_processes="1",
                **FUNCTIONAL_LIMITS,
            )
        )
        proc = nginx.start(nginx.ensure_nginx(), conf, log / "gateway.log")
        url = f"http://127.0.0.1:{gateway_port}"
        wait_for_gateway(url, proc, log)
        yield Stack(url, {**live_stack.services, "registry": registry})
    finally:
        if proc is not None:
            stop_group(proc.pid)
        registry.stop()


@pytest.fixture(scope="session")
def app_client_id(databases: Databases) -> str:
    """A worker-facing app registered in the registry (its secret is not used)."""
    from otog_registry.cli import _create

    creds = asyncio.run(
        _create(databases.live_urls["registry"], "Worker app (test)", ["registry:read"], None)
    )
    return str(creds["client_id"])
