"""Collects every service's outbox into the one feed (``event_log``).

Each registry process runs :func:`collector_hook`'s loop; for every source, one
process at a time collects it (a transaction-scoped advisory lock taken with
``pg_try_advisory_xact_lock``, so replicas are safe and a process that dies simply
lets the next one take the source at its next round). Within that transaction it
reads the source's position in ``event_sources``, fetches the outbox rows above it
(the registry's own by SQL, training's and the loan ledger's over HTTP from
``/internal/outbox``), inserts them into ``event_log`` (``ON CONFLICT DO NOTHING`` on
the event id and on (source, source position)) and advances the position: the rows
and the position commit together, so each event is collected exactly once, in its
source's commit order (see ``otog_shared.outbox`` for why those positions never skip
a late commit). Sources are collected side by side: one that is down or slow (its
calls time out) delays no other.

The other services are called with a short-lived token the registry signs for
itself with the internal scope ``internal:outbox`` (see ``otog_shared.events``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from otog_shared.events import INTERNAL_OUTBOX_SCOPE, OUTBOX_PATH
from otog_shared.outbox import EVENT_LOG_CHANNEL, OutboxEvent, notify, read_outbox
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from otog_registry.events.repository import EventLogRepository
from otog_registry.oauth.keys import SigningKey
from otog_registry.settings import RegistrySettings

log = logging.getLogger("otog.events")

COLLECTOR_CLIENT_ID = "otog-registry-collector"
TOKEN_TTL_SECONDS = 300
TOKEN_REFRESH_MARGIN = 60


class SourceUnavailable(Exception):
    """A source could not be read this round; the next round tries again."""


# (the collecting transaction, after, limit) → the source's events above ``after``.
Fetch = Callable[[AsyncSession, int, int], Awaitable[list[OutboxEvent]]]


@dataclass
class Source:
    name: str
    fetch: Fetch
    # Since when the source fails (logged once, when it starts failing).
    down_since: float | None = None


class InternalToken:
    """A bearer token with the internal outbox scope, signed with the registry's key."""

    def __init__(self, key: SigningKey, settings: RegistrySettings) -> None:
        self.key = key
        self.settings = settings
        self._token = ""
        self._expires_at = 0.0

    def get(self) -> str:
        now = time.time()
        if now < self._expires_at - TOKEN_REFRESH_MARGIN:
            return self._token
        issued = int(now)
        self._token = self.key.sign(
            {
                "iss": self.settings.jwt_issuer,
                "aud": self.settings.jwt_audience,
                "sub": COLLECTOR_CLIENT_ID,
                "client_id": COLLECTOR_CLIENT_ID,
                "iat": issued,
                "nbf": issued,
                "exp": issued + TOKEN_TTL_SECONDS,
                "jti": uuid.uuid4().hex,
                "scope": INTERNAL_OUTBOX_SCOPE,
            }
        )
        self._expires_at = issued + TOKEN_TTL_SECONDS
        return self._token


def local_source() -> Source:
    async def fetch(session: AsyncSession, after: int, limit: int) -> list[OutboxEvent]:
        return await read_outbox(session, after, limit)

    return Source("registry", fetch)


def http_source(name: str, client: httpx.AsyncClient, token: InternalToken) -> Source:
    async def fetch(_session: AsyncSession, after: int, limit: int) -> list[OutboxEvent]:
        try:
            response = await client.get(
                OUTBOX_PATH,
                params={"after": after, "limit": limit},
                headers={"Authorization": f"Bearer {token.get()}"},
            )
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"{type(exc).__name__}") from exc
        if response.status_code != 200:
            raise SourceUnavailable(f"answered {response.status_code}")
        try:
            items = response.json()["items"]
            return [
                OutboxEvent(
                    id=uuid.UUID(i["id"]),
                    position=int(i["position"]),
                    type=str(i["type"]),
                    subject=str(i["subject"]),
                    province_code=i["province_code"],
                    data=dict(i["data"]),
                    occurred_at=datetime.fromisoformat(i["occurred_at"]),
                )
                for i in items
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceUnavailable("gave an unreadable answer") from exc

    return Source(name, fetch)


async def collect_source(
    sessionmaker: async_sessionmaker[AsyncSession], source: Source, batch: int
) -> int:
    """One round for one source: how many events it moved into the feed (0 when
    another process holds the source this round)."""
    async with sessionmaker() as session, session.begin():
        repository = EventLogRepository(session)
        if not await repository.try_lock_source(source.name):
            return 0
        after = await repository.collected_through(source.name)
        events = await source.fetch(session, after, batch)
        if events:
            await repository.add_collected(source.name, events)
            # The delivery worker fans them out at the commit, not at its next poll.
            await notify(session, EVENT_LOG_CHANNEL)
        return len(events)


async def collect_once(
    sessionmaker: async_sessionmaker[AsyncSession], sources: list[Source], batch: int
) -> dict[str, int]:
    """One round over every source, side by side; a failing source is logged (once
    while it stays down) and skipped."""
    results = await asyncio.gather(
        *(collect_source(sessionmaker, s, batch) for s in sources), return_exceptions=True
    )
    moved: dict[str, int] = {}
    for source, result in zip(sources, results, strict=True):
        if isinstance(result, BaseException):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if source.down_since is None:
                source.down_since = time.monotonic()
                log.warning(
                    "cannot collect events from %s: %s",
                    source.name,
                    result,
                    extra={"dependency": source.name},
                )
            moved[source.name] = 0
        else:
            if source.down_since is not None:
                log.info("collecting events from %s again", source.name)
                source.down_since = None
            moved[source.name] = result
    return moved


# How often a process that is not collecting checks whether the one that is has gone.
STANDBY_SECONDS = 1.0


async def run_collector(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    sources: list[Source],
    *,
    interval: float,
    batch: int,
) -> None:
    """Collect for as long as this process holds the collector's session-level advisory
    lock; otherwise stand by. One process polls (not one per worker and replica); when
    it dies its connection closes, the lock goes with it, and a standby takes over
    within :data:`STANDBY_SECONDS`. The per-source transaction locks of
    :func:`collect_source` still make each round safe on their own, during a
    handover too."""
    while True:
        try:
            async with engine.connect() as held:
                leader = await held.scalar(
                    text("SELECT pg_try_advisory_lock(hashtext('event_log.collector'))")
                )
                await held.commit()
                try:
                    while leader:
                        moved = await collect_once(sessionmaker, sources, batch)
                        # A full batch means more is waiting: go again at once.
                        if not any(n >= batch for n in moved.values()):
                            await asyncio.sleep(interval)
                        # The lock lives as long as this connection: check it is alive.
                        await held.execute(text("SELECT 1"))
                        await held.commit()
                finally:
                    if leader:
                        # Closed, not returned to the pool: the lock goes with it.
                        await held.invalidate()
        except asyncio.CancelledError:
            raise
        except Exception:
            # The registry's own database failing: try again after a pause.
            log.exception("event collection failed")
        await asyncio.sleep(STANDBY_SECONDS)


def collector_hook(settings: RegistrySettings) -> Callable[[FastAPI], Any]:
    """App hook: the collection loop, for the app's lifetime (off when
    ``events_collect`` is false)."""

    @asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        if not settings.events_collect:
            yield
            return
        token = InternalToken(app.state.signing_key, settings)
        clients: list[httpx.AsyncClient] = []
        sources = [local_source()]
        for name, url in (("training", settings.training_url), ("loan-ledger", settings.loans_url)):
            if url:
                client = httpx.AsyncClient(
                    base_url=url,
                    timeout=httpx.Timeout(
                        settings.events_fetch_timeout_seconds,
                        connect=settings.http_connect_timeout_seconds,
                    ),
                )
                clients.append(client)
                sources.append(http_source(name, client, token))
        task = asyncio.create_task(
            run_collector(
                app.state.engine,
                app.state.sessionmaker,
                sources,
                interval=settings.events_poll_seconds,
                batch=settings.events_batch,
            ),
            name="event-collector",
        )
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            for client in clients:
                await client.aclose()

    return hook
