from __future__ import annotations

from pathlib import Path

from otog_shared.settings import ServiceSettings
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="REGISTRY_", extra="ignore", env_nested_delimiter="__"
    )

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/otog_registry"
    access_token_ttl_seconds: int = 900
    signing_key_file: str = "jwt-signing-key.pem"

    # National IDs: AES-256-GCM key and HMAC-SHA256 key, each 32 bytes in base64.
    # When unset, both are generated on first start into ``pii_key_file`` in the
    # data directory. Lose them and the stored national IDs cannot be read or found.
    pii_key: SecretStr | None = None
    pii_hmac_key: SecretStr | None = None
    pii_key_file: str = "pii-keys.json"

    # Bulk worker import: rows per COPY (and per commit), how many connections
    # write batches side by side, and how many rejected lines the report lists
    # one by one (the count covers them all).
    import_batch_size: int = 5000
    import_write_lanes: int = Field(default=2, ge=1, le=4)
    import_report_limit: int = 1000
    # A CSV record longer than this is rejected rather than buffered.
    import_max_record_bytes: int = 65536

    # Public catalogue responses may be cached this long by clients and proxies.
    catalog_max_age_seconds: int = 300

    # --- sign-in for people (OAuth 2.1 authorization code + PKCE) ---------------
    # The gateway's public address: the metadata documents name their endpoints with it.
    public_base_url: str = "http://127.0.0.1:8080"
    authorization_code_ttl_seconds: int = Field(default=60, ge=1, le=60)
    # A refresh token lives this long after it was issued; each use issues a new one.
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    # argon2id, measured at ~75 ms of one core here (README, "Sign-in for people").
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=47104, ge=8192)
    argon2_parallelism: int = Field(default=1, ge=1)
    # Hashes computed at once per process: each holds argon2_memory_kib of memory. One
    # per process keeps a worker under 200 MB (two reached 205 MB in the bench) and,
    # with a worker per core, still keeps every core busy.
    password_hash_concurrency: int = Field(default=1, ge=1)
    # Failed sign-ins of one account: from the n-th on, the next attempt must wait
    # 2^(failures - n) seconds (at most signin_max_delay_seconds); at signin_lock_after
    # the account is locked for signin_lock_seconds.
    signin_delay_after: int = Field(default=3, ge=1)
    signin_max_delay_seconds: int = Field(default=60, ge=1)
    signin_lock_after: int = Field(default=10, ge=1)
    signin_lock_seconds: int = Field(default=900, ge=1)
    # Failed sign-ins from one client address (any account) within the window: past
    # signin_address_delay_after, the same growing wait applies to the address.
    signin_address_delay_after: int = Field(default=20, ge=1)
    signin_address_window_seconds: int = Field(default=900, ge=1)
    # Peers whose X-Forwarded-For is believed (the gateway): the client address is
    # then the last hop they appended.
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])

    @property
    def issuer_url(self) -> str:
        return self.public_base_url.rstrip("/")

    @property
    def signing_key_path(self) -> Path:
        return self.data_dir / self.signing_key_file

    @property
    def pii_key_path(self) -> Path:
        return self.data_dir / self.pii_key_file
