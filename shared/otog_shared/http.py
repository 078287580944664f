"""HTTP client for service-to-service calls.

Timeouts on every call, the caller's request id passed on, and retries only
for idempotent methods: a retried POST could do its work twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from otog_shared.context import request_id_var
from otog_shared.errors import DependencyUnavailable

log = logging.getLogger("otog.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUS = frozenset({502, 503, 504})


class ServiceClient:
    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        timeout: float = 5.0,
        connect_timeout: float = 2.0,
        retries: int = 2,
        backoff_seconds: float = 0.1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

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
        for attempt in range(attempts):
            try:
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

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)
