"""Settings base shared by the services.

Each service subclasses :class:`ServiceSettings` with its own env prefix
(``REGISTRY_``, ``TRAINING_``, ``LOANS_``) so one machine can run all three
from one environment without their values colliding.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TrustedIssuer(BaseModel):
    """An external OIDC issuer whose tokens the services also accept."""

    issuer: str
    jwks_url: str
    audience: str | None = None


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_nested_delimiter="__")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/otog"
    # Connections kept open per process. Overflow connections are closed when
    # returned, so under sustained load they would be opened again and again
    # (a new PostgreSQL backend each time); requests beyond the pool wait for it.
    db_pool_size: int = 20
    db_max_overflow: int = 0
    # A ping before every checkout costs three round trips per request (BEGIN, a
    # no-op, ROLLBACK with asyncpg). Without it, pooled connections the server
    # closed are still replaced at checkout (otog_shared.dbfaults.watch_engine);
    # only requests whose connection breaks while they use it get a 503.
    db_pool_pre_ping: bool = False
    # Connecting gives up after this long (asyncpg's default is 60 s): a request
    # then answers 503 instead of hanging while the database is unreachable.
    db_connect_timeout_seconds: float = 5.0
    # Prepared statements cached per connection, by asyncpg and by SQLAlchemy's
    # dialect on top of it (both default to 100). 0 turns both off and names each
    # statement uniquely: needed behind PgBouncer in transaction mode, where the
    # next transaction may run on another server connection that never saw the
    # statement (or has one of the same name from another client).
    db_statement_cache_size: int = Field(default=100, ge=0)
    db_echo: bool = False

    log_level: str = "INFO"
    log_json: bool = True

    # Tokens are minted by the registry; everybody verifies them against its JWKS.
    jwt_issuer: str = "otog"
    jwt_audience: str = "otog-api"
    jwks_url: str = "http://127.0.0.1:8001/v1/.well-known/jwks.json"
    jwks_cache_seconds: int = 300
    trusted_issuers: list[TrustedIssuer] = Field(default_factory=list)

    # Service-to-service calls.
    http_timeout_seconds: float = 5.0
    http_connect_timeout_seconds: float = 2.0
    http_retries: int = 2

    # Time-based jobs (otog_shared.scheduler) run inside every process of the service;
    # off, this process runs none (another process or machine still may).
    scheduler_enabled: bool = True

    data_dir: Path = Path("var/data")
    public_base_url: str = "http://127.0.0.1:8080"
