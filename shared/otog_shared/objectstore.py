"""Object storage through the S3 API (SeaweedFS in development, any S3 service in
production: the ministry's MinIO or Ceph RGW, AWS S3).

Configured by ``OBJECT_STORE_URL`` (``http://host:port/bucket``, path-style, as
every S3-compatible server accepts), ``OBJECT_STORE_ACCESS_KEY_ID``,
``OBJECT_STORE_SECRET_ACCESS_KEY`` and ``OBJECT_STORE_REGION``. The variables have
no service prefix: one bucket and one set of credentials serve whichever service
stores objects. Unset, the service runs without object storage and the operations
that need it answer 503.

The client is obstore (Rust's ``object_store`` behind an asyncio API): one wheel
without dependencies, streaming reads, retries with backoff built in.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

import obstore
from fastapi import Depends, FastAPI, Request
from obstore.store import S3Store
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from otog_shared.errors import DependencyUnavailable


class ObjectStoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OBJECT_STORE_", extra="ignore")

    url: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    region: str = "us-east-1"
    # Each request to the store gives up after this long (then retried by obstore).
    timeout_seconds: float = 30.0


class ObjectMissing(Exception):
    """The key names no object (deleted, or never written)."""


@dataclass(frozen=True)
class StoredObject:
    size: int
    chunks: AsyncIterator[bytes]


class ObjectStore:
    """One bucket: put, stream, delete objects by key."""

    def __init__(self, settings: ObjectStoreSettings) -> None:
        if not settings.url:
            raise ValueError("OBJECT_STORE_URL is not set")
        parts = urlsplit(settings.url)
        bucket = parts.path.strip("/")
        if parts.scheme not in ("http", "https") or not parts.netloc or not bucket:
            raise ValueError("OBJECT_STORE_URL must look like http(s)://host[:port]/bucket")
        self.bucket = bucket
        self._store = S3Store(
            bucket,
            endpoint=f"{parts.scheme}://{parts.netloc}",
            region=settings.region,
            access_key_id=settings.access_key_id,
            secret_access_key=(
                settings.secret_access_key.get_secret_value()
                if settings.secret_access_key
                else None
            ),
            virtual_hosted_style_request=False,
            client_options={
                "allow_http": parts.scheme == "http",
                "timeout": f"{settings.timeout_seconds}s",
            },
        )

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await obstore.put_async(self._store, key, data, attributes={"Content-Type": content_type})

    async def open(self, key: str, chunk_size: int = 256 * 1024) -> StoredObject:
        try:
            result = await obstore.get_async(self._store, key)
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        return StoredObject(result.meta["size"], _chunks(result.stream(chunk_size)))

    async def read(self, key: str) -> bytes:
        try:
            result = await obstore.get_async(self._store, key)
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        return bytes(await result.bytes_async())

    async def delete(self, key: str) -> None:
        # S3 answers a delete of a missing key with success: deleting twice is harmless.
        await obstore.delete_async(self._store, key)

    async def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (for checks and clean-ups, not for requests)."""
        found: list[str] = []
        async for batch in obstore.list(self._store, prefix):
            found += [meta["path"] for meta in batch]
        return found

    async def exists(self, key: str) -> bool:
        try:
            await obstore.head_async(self._store, key)
        except FileNotFoundError:
            return False
        return True


async def _chunks(stream: obstore.BytesStream) -> AsyncIterator[bytes]:
    async for chunk in stream:
        yield bytes(chunk)


def object_store_hook(app: FastAPI) -> contextlib.AbstractAsyncContextManager[None]:
    """App hook: ``app.state.object_store`` from the environment (None when unset)."""

    @contextlib.asynccontextmanager
    async def hook() -> AsyncIterator[None]:
        settings = ObjectStoreSettings()
        app.state.object_store = ObjectStore(settings) if settings.url else None
        yield

    return hook()


async def object_store(request: Request) -> ObjectStore:
    store: ObjectStore | None = getattr(request.app.state, "object_store", None)
    if store is None:
        raise DependencyUnavailable("Object storage is not configured (OBJECT_STORE_URL).")
    return store


Objects = Annotated[ObjectStore, Depends(object_store)]
