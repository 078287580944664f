"""HTTP client for service-to-service calls.

Timeouts on every call, the caller's request id passed on, and retries only
for idempotent methods: a retried POST could do its work twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from otog_shared.context import request_id_var
from otog_shared.errors import DependencyUnavailable
from otog_shared.settings import ServiceSettings

log = logging.getLogger("otog.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUS = frozenset({502, 503, 504})


class ClientCredentialsToken:
    """A bearer token for service-to-service calls, obtained with the calling
    service's own client credentials and reused until shortly before it expires."""

    REFRESH_MARGIN_SECONDS = 60

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self._client = httpx.AsyncClient(timeout=5.0, transport=transport)
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._token = None

    async def get(self) -> str:
        if self._token and time.monotonic() < self._expires_at:
            return self._token
        async with self._lock:
            if self._token and time.monotonic() < self._expires_at:
                return self._token
            data = {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
            if self.scope:
                data["scope"] = self.scope
            try:
                response = await self._client.post(self.token_url, data=data)
            except httpx.TransportError as exc:
                raise DependencyUnavailable("The token service could not be reached.") from exc
            if response.status_code != 200:
                log.error("service token refused: %s", response.status_code)
                raise DependencyUnavailable("This service could not authenticate to a dependency.")
            body = response.json()
            self._token = str(body["access_token"])
            lifetime = float(body.get("expires_in", 300))
            self._expires_at = time.monotonic() + max(lifetime - self.REFRESH_MARGIN_SECONDS, 5.0)
            return self._token

    async def aclose(self) -> None:
        await self._client.aclose()


class ServiceClient:
    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        token: ClientCredentialsToken | None = None,
        timeout: float = 5.0,
        connect_timeout: float = 2.0,
        retries: int = 2,
        backoff_seconds: float = 0.1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.token = token
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            # Every connection kept open: under load, a pool that closes most of its
            # connections after each call pays a TCP handshake per call on both sides.
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
        )

    async def aclose(self) -> None:
        await self._client.aclose()
        if self.token is not None:
            await self.token.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        method = method.upper()
        merged = dict(headers or {})
        rid = request_id_var.get()
        if rid:
            merged.setdefault("X-Request-ID", rid)
        attempts = 1 + (self.retries if method in IDEMPOTENT_METHODS else 0)
        last_error: Exception | None = None
        reauthenticated = False
        for attempt in range(attempts):
            if self.token is not None:
                merged["Authorization"] = f"Bearer {await self.token.get()}"
            try:
                response = await self._client.request(method, url, headers=merged, **kwargs)
                if response.status_code == 401 and self.token is not None and not reauthenticated:
                    # The dependency may have rotated its keys: one fresh token, once.
                    reauthenticated = True
                    self.token.invalidate()
                    merged["Authorization"] = f"Bearer {await self.token.get()}"
                    response = await self._client.request(method, url, headers=merged, **kwargs)
            except httpx.TransportError as exc:
                last_error = exc
                log.warning(
                    "call to %s failed: %s",
                    self.name,
                    type(exc).__name__,
                    extra={"dependency": self.name, "attempt": attempt + 1},
                )
            else:
                if response.status_code in RETRYABLE_STATUS and attempt + 1 < attempts:
                    last_error = None
                else:
                    if response.status_code in RETRYABLE_STATUS:
                        raise DependencyUnavailable(
                            f"The {self.name} service is unavailable.", dependency=self.name
                        )
                    return response
            if attempt + 1 < attempts:
                await asyncio.sleep(self.backoff_seconds * (2**attempt))
        raise DependencyUnavailable(
            f"The {self.name} service could not be reached.", dependency=self.name
        ) from last_error

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def get_resource(self, path: str) -> dict[str, Any] | None:
        """A JSON object the other service holds, or ``None`` when it answers 404.

        Any other answer is the dependency failing (503), never a guess: a 401 or
        403 means this service's own credentials are wrong, which the caller
        cannot fix. Only the status goes to the log; paths may carry identifiers.
        """
        response = await self.get(path)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            log.error(
                "%s answered %s",
                self.name,
                response.status_code,
                extra={"dependency": self.name},
            )
            raise DependencyUnavailable(
                f"The {self.name} service could not answer this request.", dependency=self.name
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise DependencyUnavailable(
                f"The {self.name} service gave an unreadable answer.", dependency=self.name
            )
        return body

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)


class RegistryClientSettings(ServiceSettings):
    """Settings of a service that calls the registry with its own client credentials."""

    registry_url: str = "http://127.0.0.1:8001"
    registry_client_id: str = ""
    registry_client_secret: str = ""


def registry_client_hook(settings: RegistryClientSettings) -> Any:
    """App hook: ``app.state.registry``, a :class:`ServiceClient` for the registry."""

    @asynccontextmanager
    async def hook(app: Any) -> AsyncIterator[None]:
        token = None
        if settings.registry_client_id:
            token = ClientCredentialsToken(
                settings.registry_url.rstrip("/") + "/v1/oauth/token",
                settings.registry_client_id,
                settings.registry_client_secret,
                scope="registry:read",
            )
        app.state.registry = ServiceClient(
            settings.registry_url,
            name="registry",
            token=token,
            timeout=settings.http_timeout_seconds,
            connect_timeout=settings.http_connect_timeout_seconds,
            retries=settings.http_retries,
        )
        try:
            yield
        finally:
            await app.state.registry.aclose()

    return hook
