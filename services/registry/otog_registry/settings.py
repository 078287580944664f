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

    # Photos decoded and re-encoded at once per process (each may take ~160 MB while
    # decoding a 40-megapixel image); further uploads wait their turn. Decoding is
    # CPU-bound: one per process keeps every core busy once there are as many worker
    # processes as cores, and keeps each process's peak memory to one image.
    photo_decode_concurrency: int = Field(default=1, ge=1, le=16)

    # Public catalogue responses may be cached this long by clients and proxies.
    catalog_max_age_seconds: int = 300

    # Workers sign in with the national digital ID (an OIDC provider): an app exchanges
    # the provider's ID token for a `self` token (RFC 8693). Off until the issuer, its
    # JWKS URL and the audience (this programme's client id at the provider) are all set:
    # without the audience, an ID token the provider issued to any other service would do.
    citizen_id_issuer: str | None = None
    citizen_id_jwks_url: str | None = None
    citizen_id_audience: str | None = None
    # The claim holding the 13-digit national ID.
    citizen_id_claim: str = "pid"
    citizen_id_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "PS256"])
    # A worker's token lives shorter than a client's: the app exchanges a fresh ID token.
    citizen_token_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    # Webhooks. Targets must be https; plain http only to a loopback address, and
    # only when this is on (a development stack; never in production).
    webhook_allow_loopback_http: bool = False
    # Fixed answers for host names, like curl's --resolve: {"host": ["address", …]}.
    # Checked like any resolution (a private address stays refused); lets an
    # operator pin partners' hosts, and tests point names at chosen addresses.
    webhook_resolve: dict[str, list[str]] = Field(default_factory=dict)
    # Seconds between the attempts of one delivery after the first (each ±20% jitter):
    # 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 24 h: nine attempts over about 56 hours.
    webhook_retry_delays_seconds: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 86400.0]
    )
    webhook_retry_jitter: float = Field(default=0.2, ge=0, le=0.5)
    # A Retry-After longer than this is read as this.
    webhook_retry_after_max_seconds: float = 86400
    # A subscription whose deliveries have failed, without one success, this long is disabled.
    webhook_disable_after_seconds: float = 3 * 86400
    # The whole attempt (connect, send, answer) gives up after this long.
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=15)
    # A claim lapses after this long (a worker killed mid-attempt): the delivery is
    # then tried again by any worker. Several timeouts long, because a worker claims
    # a few deliveries per subscription ahead of those in flight (lease / timeout - 1
    # per slot): with 60 s and 10 s, 5, enough to keep one busy subscription at
    # 600 events/s with 8 requests in flight (see the webhooks benchmarks).
    webhook_lease_seconds: float = 60
    # Attempts in flight at once: per subscription (one slow receiver cannot take
    # every slot) and per worker process. One subscription carries about this many
    # events per round trip: with 4 and a few milliseconds each (the worker yields
    # the CPU to requests), a subscription to every event fell behind the events
    # the services make at saturation on two cores (events_e2e benchmark).
    webhook_concurrency_per_subscription: int = Field(default=8, ge=1)
    webhook_concurrency: int = Field(default=64, ge=1)
    # How often an idle worker looks for new events and due deliveries.
    webhook_poll_seconds: float = 0.2
    # Events taken per fan-out step.
    webhook_fanout_batch: int = 500
    # The delivery worker's CPU priority (added niceness, 0 to 19): deliveries are
    # background work measured in seconds, requests in milliseconds, so where both
    # share a machine the requests go first and deliveries take the CPU they leave.
    webhook_worker_nice: int = Field(default=10, ge=0, le=19)
    # The previous secret keeps signing this long after a rotation.
    webhook_secret_overlap_seconds: float = 86400
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

    # The partner feed: where the other services' outboxes are collected from (unset:
    # not collected), how often each is polled, how many events per round, and how
    # long a fetch may take (a source that hangs delays only itself).
    training_url: str | None = None
    loans_url: str | None = None
    events_collect: bool = True
    events_poll_seconds: float = Field(default=0.1, gt=0, le=5)
    events_batch: int = Field(default=500, ge=1, le=1000)
    events_fetch_timeout_seconds: float = Field(default=2.0, gt=0, le=30)

    @property
    def signing_key_path(self) -> Path:
        return self.data_dir / self.signing_key_file

    @property
    def pii_key_path(self) -> Path:
        return self.data_dir / self.pii_key_file
