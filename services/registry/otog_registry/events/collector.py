"""Collects every service's outbox into the one feed (``event_log``).

Each registry process runs :func:`collector_hook`'s loop; for every source, one
process at a time collects it (a transaction-scoped advisory lock taken with
``pg_try_advisory_xact_lock``, so replicas are safe and a process that dies simply
lets the next one take the source at its next round). Within that transaction it
reads the source's position in ``event_sources``, takes the outbox rows above it
(the registry's own by SQL; training's and the loan ledger's were fetched over HTTP
from ``/internal/outbox`` just before, by a long poll that holds no transaction),
inserts them into ``event_log`` (``ON CONFLICT DO NOTHING`` on the event id and on
(source, source position)) and advances the position: the rows and the position
commit together, so each event is collected exactly once, in its source's commit
order (see ``otog_shared.outbox`` for why those positions never skip a late commit).
Sources are followed side by side, each by a task of its own: one that is down or
slow (its calls time out) delays no other. Rounds start when there is something to
collect: the long poll answers at a commit, the registry's outbox notifies
(``pg_notify``), and a fallback poll covers a lost notification.

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
from otog_shared.outbox import (
    EVENT_LOG_CHANNEL,
    OUTBOX_CHANNEL,
    OutboxEvent,
    Wakeup,
    notify,
    read_outbox,
)
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


# (after, limit, wait) → the source's events above ``after``; with ``wait``, the
# source answers as soon as one commits when it has none yet (a long poll).
Fetch = Callable[[int, int, float], Awaitable[list[OutboxEvent]]]


@dataclass
class Source:
    name: str
    # None: the registry's own outbox, read by SQL in the collecting transaction.
    fetch: Fetch | None = None
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
    return Source("registry")


def http_source(name: str, client: httpx.AsyncClient, token: InternalToken) -> Source:
    async def fetch(after: int, limit: int, wait: float) -> list[OutboxEvent]:
        params: dict[str, int | float] = {"after": after, "limit": limit}
        timeout = client.timeout
        if wait > 0:
            params["wait"] = wait
            # The answer may take the wait itself before the usual time limit starts.
            timeout = httpx.Timeout(
                (timeout.read or 0) + wait, connect=timeout.connect, pool=timeout.pool
            )
        try:
            response = await client.get(
                OUTBOX_PATH,
                params=params,
                headers={"Authorization": f"Bearer {token.get()}"},
                timeout=timeout,
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
    sessionmaker: async_sessionmaker[AsyncSession],
    source: Source,
    batch: int,
    *,
    wait: float = 0.0,
) -> int:
    """One round for one source: how many events it moved into the feed (0 when
    another process holds the source this round, or the source had none; a remote
    source is given ``wait`` seconds to have one)."""
    fetched: list[OutboxEvent] | None = None
    if source.fetch is not None:
        async with sessionmaker() as session:
            after = await EventLogRepository(session).collected_through(source.name)
        # Outside any transaction: a long poll holds no connection and no lock.
        fetched = await source.fetch(after, batch, wait)
        if not fetched:
            return 0
    async with sessionmaker() as session, session.begin():
        repository = EventLogRepository(session)
        if not await repository.try_lock_source(source.name):
            return 0
        after = await repository.collected_through(source.name)
        if fetched is None:
            events = await read_outbox(session, after, batch)
        else:
            # What was fetched is every committed row from the position read then;
            # another process may have collected the start of it meanwhile, and the
            # rest continues exactly where it stopped.
            events = [e for e in fetched if e.position > after]
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
    return {
        source.name: _noted(source, result) for source, result in zip(sources, results, strict=True)
    }


def _noted(source: Source, result: int | BaseException) -> int:
    """A round's events moved, with the source's failing logged once while it lasts."""
    if isinstance(result, BaseException):
        if not isinstance(result, Exception):
            raise result
        if source.down_since is None:
            source.down_since = time.monotonic()
            log.warning(
                "cannot collect events from %s: %s",
                source.name,
                result,
                extra={"dependency": source.name},
            )
        return 0
    if source.down_since is not None:
        log.info("collecting events from %s again", source.name)
        source.down_since = None
    return result


# How often a process that is not collecting checks whether the one that is has gone.
STANDBY_SECONDS = 1.0
# How long a remote source is asked to hold its answer until an event commits.
LONG_POLL_SECONDS = 2.0
# The fallback poll of the registry's own outbox while its notifications are heard.
FALLBACK_POLL_SECONDS = 1.0
# After a round that moved events, the next one starts no sooner than this.
ROUND_GAP_SECONDS = 0.05


async def follow(
    sessionmaker: async_sessionmaker[AsyncSession],
    source: Source,
    *,
    interval: float,
    batch: int,
    wakeup: Wakeup | None,
) -> None:
    """Collect one source for as long as this process leads, each event as soon as
    it commits: a remote source is long-polled; the registry's own outbox is read
    when its notification comes (or at the fallback poll, a notification being a
    hint that can be lost). A full batch means more is waiting: again at once."""
    while True:
        started = time.monotonic()
        try:
            moved = await collect_source(
                sessionmaker,
                source,
                batch,
                wait=LONG_POLL_SECONDS if source.fetch is not None else 0.0,
            )
        except Exception as exc:
            moved = _noted(source, exc)
        else:
            moved = _noted(source, moved)
        if moved >= batch:
            continue
        if moved:
            # Under a stream of commits, one round per gap serves many of them.
            await asyncio.sleep(ROUND_GAP_SECONDS)
        if source.fetch is not None:
            # A long poll waited already, unless the source failed or answered at once.
            if moved == 0 and time.monotonic() - started < interval:
                await asyncio.sleep(interval)
        elif wakeup is not None and wakeup.listening.is_set():
            await wakeup.wait(FALLBACK_POLL_SECONDS)
        else:
            await asyncio.sleep(interval)


async def run_collector(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    sources: list[Source],
    *,
    interval: float,
    batch: int,
    wakeup: Wakeup | None = None,
) -> None:
    """Collect for as long as this process holds the collector's session-level advisory
    lock; otherwise stand by. One process collects (not one per worker and replica);
    when it dies its connection closes, the lock goes with it, and a standby takes
    over within :data:`STANDBY_SECONDS`. The per-source transaction locks of
    :func:`collect_source` still make each round safe on their own, during a
    handover too. Each source is followed by a task of its own: one that is down or
    slow delays no other."""
    while True:
        try:
            async with engine.connect() as held:
                leader = await held.scalar(
                    text("SELECT pg_try_advisory_lock(hashtext('event_log.collector'))")
                )
                await held.commit()
                if leader:
                    if wakeup is not None:
                        # Only the collecting process listens.
                        wakeup.start()
                    followers = [
                        asyncio.create_task(
                            follow(sessionmaker, s, interval=interval, batch=batch, wakeup=wakeup),
                            name=f"collect-{s.name}",
                        )
                        for s in sources
                    ]
                    try:
                        while True:
                            await asyncio.sleep(STANDBY_SECONDS)
                            # The lock lives as long as this connection: check it is alive.
                            await held.execute(text("SELECT 1"))
                            await held.commit()
                    finally:
                        for task in followers:
                            task.cancel()
                        await asyncio.gather(*followers, return_exceptions=True)
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
        wakeup = Wakeup.of(app.state.engine, [OUTBOX_CHANNEL])
        task = asyncio.create_task(
            run_collector(
                app.state.engine,
                app.state.sessionmaker,
                sources,
                interval=settings.events_poll_seconds,
                batch=settings.events_batch,
                wakeup=wakeup,
            ),
            name="event-collector",
        )
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            await wakeup.stop()
            for client in clients:
                await client.aclose()

    return hook
