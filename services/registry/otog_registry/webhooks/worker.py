"""The webhook delivery worker: ``python -m otog_registry.webhooks.worker``.

A process of its own beside the registry's web processes; any number may run
(replicas), against the registry's database:

1. **Fan-out.** Follows ``event_log`` by its commit-ordered position: under a lock on
   the one cursor row, it reads the events after the cursor, queues a delivery for
   every enabled subscription that may read each, and moves the cursor, all in one
   transaction. A position is handed out at commit in commit order, so an event that
   commits late still lands above the cursor: nothing is skipped, nothing queued twice.
2. **Claims.** Due deliveries are taken with ``FOR UPDATE SKIP LOCKED`` under a lease
   (``lease_until``, ``lease_token``): each attempt is made by one worker. A worker
   killed mid-attempt loses nothing: when the lease lapses another worker (or its
   restart) makes the attempt again. At least once: receivers deduplicate on
   ``webhook-id``. The outcomes of the attempts that ended since the last claim are
   written in the claim's transaction: the slots they free are filled in the same
   round of statements.
3. **Attempts.** Each one a task of its own, under a time limit for the whole
   attempt, at most N per subscription in flight (``webhook_concurrency_per_subscription``)
   and M per worker: a slow or dead receiver holds its own N slots and no one else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from otog_shared import metrics
from otog_shared.db import create_engine
from otog_shared.dbfaults import describe
from otog_shared.logs import configure_logging
from otog_shared.outbox import EVENT_LOG_CHANNEL, Wakeup
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook

from otog_registry.events.visibility import sees_province
from otog_registry.models_registry import register_all
from otog_registry.pii.crypto import PiiKeys
from otog_registry.settings import RegistrySettings
from otog_registry.webhooks.client import DeliveryClient, DeliveryFailed
from otog_registry.webhooks.repository import Claim, DeliveryStore, Outcome
from otog_registry.webhooks.schedule import next_delay, retry_after_seconds
from otog_registry.webhooks.service import subscribed_types
from otog_registry.webhooks.signing import SecretBox, Signers, signature_header
from otog_registry.webhooks.ssrf import (
    TargetPolicy,
    TargetRefused,
    TargetUnresolvable,
    check_target,
)

log = logging.getLogger("otog.webhooks")

# Counted once an attempt's outcome is recorded: `delivered` (2xx), `failed` (to be
# retried), `abandoned` (retries exhausted or the subscription disabled).
DELIVERIES = metrics.counter(
    "otog_webhook_deliveries_total", "Webhook delivery attempts by outcome.", ("outcome",)
)

CONTENT_TYPE = "application/cloudevents+json"
USER_AGENT = "OTOG-Webhooks/1.0"
# Outcomes written per transaction at most.
RECORD_BATCH = 200
# Under load, events and outcomes are taken in small batches rather than one by one:
# the fan-out looks for new events at most this often when notified (seconds)...
FAN_OUT_GAP = 0.05
# ...and an attempt that ends waits this long for those in flight beside it, so that
# one transaction records them all and claims their successors.
RECORD_GAP = 0.02
# The fallback poll while notifications are heard (seconds).
FALLBACK_POLL_SECONDS = 1.0


class DeliveryWorker:
    def __init__(
        self,
        settings: RegistrySettings,
        engine: AsyncEngine,
        secrets: SecretBox,
        client: DeliveryClient,
        wakeup: Wakeup | None = None,
    ) -> None:
        self.settings = settings
        # Notified when the collector commits events into the feed and when a ping
        # or a replay queues deliveries; without it (or when a notification is
        # lost) the poll interval finds them.
        self.wakeup = wakeup
        # Plain connections, not ORM sessions: the worker's statements are Core
        # statements and rows, and a session's bookkeeping was a tenth of its CPU.
        self.engine = engine
        self.secrets = secrets
        self.signers = Signers(secrets)
        self.client = client
        self.policy = TargetPolicy.of(
            settings.webhook_allow_loopback_http, settings.webhook_resolve
        )
        self.in_flight: set[asyncio.Task[None]] = set()
        # Attempts ended whose outcomes are still to be written; until then their
        # leases (and the slots they count against) are held.
        self.ended: list[tuple[Claim, Outcome]] = []
        # Set when an attempt ends: its outcome is to be written, its slot filled.
        self.wake = asyncio.Event()
        # When the earliest retry this process scheduled falls due (monotonic).
        self.next_retry = math.inf
        # Requests in flight per subscription, in this process.
        self.slots: dict[uuid.UUID, asyncio.Semaphore] = {}
        # Deliveries claimed per subscription beyond those in flight, so that the next
        # request starts as soon as one ends, without a claim in between. As many as
        # can still be sent within their lease: each waits at most one timeout for a
        # slot, then takes at most one.
        self.prefetch = max(
            1, int(settings.webhook_lease_seconds // settings.webhook_timeout_seconds) - 1
        )
        # Whether any subscription was enabled at the last fan-out (until the first
        # one, assumed so).
        self.has_targets = True

    async def run(self, stop: asyncio.Event) -> None:
        next_fan_out = last_fan_out = 0.0
        while not stop.is_set():
            self.wake.clear()
            more = claimed = False
            try:
                # New events are looked for when the feed says it has some (no sooner
                # than FAN_OUT_GAP after the last look, so that under load one look
                # serves many commits), once per poll interval otherwise, or at once
                # while a backlog lasts; due deliveries whenever a slot may be free.
                if self.wakeup is not None and self.wakeup.event.is_set():
                    self.wakeup.event.clear()
                    next_fan_out = min(next_fan_out, last_fan_out + FAN_OUT_GAP)
                if time.monotonic() >= next_fan_out:
                    last_fan_out = time.monotonic()
                    more = await self.fan_out()
                    next_fan_out = time.monotonic() + (0 if more else self._poll_seconds())
                if time.monotonic() >= self.next_retry:
                    self.next_retry = math.inf
                claimed = await self.dispatch()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("the database failed the worker's step: %s", describe(exc))
                await _wait(stop, 1.0)
                continue
            if not (more or claimed):
                until = min(next_fan_out, self.next_retry)
                await self._idle(stop, max(0.0, until - time.monotonic()))
                if self.ended and self.in_flight:
                    # The attempts in flight beside the one that ended end within
                    # moments: one transaction for all of them.
                    await asyncio.sleep(RECORD_GAP)
        await self.drain()
        try:
            while self.ended:
                await self.dispatch(claim=False)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("could not record the last attempts: %s", describe(exc))

    def _poll_seconds(self) -> float:
        """The fallback poll: slow while notifications are heard (new events and
        queued deliveries wake the worker; its own retries are timed), the
        configured interval otherwise. It finds what a lost notification and other
        workers' retries leave behind."""
        if self.wakeup is not None and self.wakeup.listening.is_set():
            return max(self.settings.webhook_poll_seconds, FALLBACK_POLL_SECONDS)
        return self.settings.webhook_poll_seconds

    async def _idle(self, stop: asyncio.Event, seconds: float) -> None:
        """Until an attempt ends (a slot is free), new events or deliveries are
        notified, ``seconds`` pass (the next fan-out is due), or stop."""
        waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())}
        if self.wakeup is not None:
            waits.add(asyncio.ensure_future(self.wakeup.event.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def drain(self) -> None:
        """Let attempts in flight finish; what does not is retried once its lease lapses."""
        if self.in_flight:
            await asyncio.wait(self.in_flight, timeout=self.settings.webhook_timeout_seconds + 1)
        for task in self.in_flight:
            task.cancel()

    async def fan_out(self) -> bool:
        """Queue deliveries for the next batch of events; True when there may be more."""
        batch = self.settings.webhook_fanout_batch
        async with self.engine.begin() as connection:
            store = DeliveryStore(connection)
            subscriptions = await store.targets()
            self.has_targets = bool(subscriptions)
            position = await store.lock_cursor()
            if position is None:
                return False
            if not subscriptions:
                # Nobody to tell: the cursor passes over the feed without reading it
                # (a subscription made later starts after its creation anyway).
                await store.skip_to_head(position)
                return False
            events = await store.events_after(position, batch)
            if not events:
                return False
            targets = [
                (s.id, subscribed_types(s.event_types, s.scopes), s.province_code, s.created_at)
                for s in subscriptions
            ]
            rows = [
                (sub_id, e.id, e.type)
                for e in events
                for sub_id, types, province, created_at in targets
                if e.type in types
                and sees_province(province, e.province_code)
                # A new subscription starts with the events recorded after it.
                and e.recorded_at >= created_at
            ]
            await store.queue(rows)
            await store.move_cursor(events[-1].position)
        return len(events) == batch

    async def dispatch(self, *, claim: bool = True) -> bool:
        """Write the outcomes of the attempts that ended, claim due deliveries for the
        free slots and start their attempts, in one transaction; True when every free
        slot was filled (more may be due). Should it fail, those outcomes are not
        written: their leases lapse and the deliveries are attempted again (at least
        once)."""
        ended, self.ended = self.ended[:RECORD_BATCH], self.ended[RECORD_BATCH:]
        # Attempts whose outcome is not yet written still hold their slot.
        free = self.settings.webhook_concurrency - len(self.in_flight) - len(self.ended)
        # Only enabled subscriptions' deliveries are claimed; none were enabled at the
        # last fan-out (which runs when one is made, pinged or replayed).
        claim = claim and free > 0 and self.has_targets
        if not (ended or claim):
            return False
        claims: list[Claim] = []
        async with self.engine.begin() as connection:
            store = DeliveryStore(connection)
            if ended:
                lapsed = await store.record(
                    ended, disable_after_seconds=self.settings.webhook_disable_after_seconds
                )
            if claim:
                claims = await store.claim(
                    limit=free,
                    per_subscription=self.settings.webhook_concurrency_per_subscription
                    * self.prefetch,
                    lease_seconds=self.settings.webhook_lease_seconds,
                )
        if ended:
            self._recorded(ended, lapsed)
        for claimed in claims:
            task = asyncio.create_task(self.attempt(claimed, claimed.event))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)
        # Fewer than the free slots: nothing else is due, or the rest wait for their
        # subscriptions' attempts to end, which wakes the worker; claiming again now
        # would find nothing.
        return claim and len(claims) >= free

    def _recorded(self, ended: list[tuple[Claim, Outcome]], lapsed: int) -> None:
        if lapsed:
            log.info("%d leases lapsed before their outcomes were recorded", lapsed)
        retries = [o.retry_in for _, o in ended if o.retry_in is not None]
        if retries:
            self.next_retry = min(self.next_retry, time.monotonic() + min(retries))
        for _, outcome in ended:
            DELIVERIES.labels(outcome=outcome_label(outcome)).inc()

    async def attempt(self, claim: Claim, event: dict[str, Any] | None) -> None:
        started = time.monotonic()
        try:
            if event is None:
                outcome = Outcome(False, error="the event is no longer kept")
            else:
                async with self._slot(claim.subscription_id):
                    async with asyncio.timeout(self.settings.webhook_timeout_seconds):
                        outcome = await self.send(claim, event)
        except TimeoutError:
            outcome = self._retry(
                claim, error=f"no answer within {self.settings.webhook_timeout_seconds:g} s"
            )
        except Exception as exc:  # an attempt's failure must not end the worker
            log.exception("webhook attempt failed unexpectedly")
            outcome = self._retry(claim, error=f"internal error: {type(exc).__name__}")
        self.ended.append((claim, outcome))
        self.wake.set()
        log.debug(
            "delivery %s attempt %d: %s in %.3f s",
            claim.delivery_id,
            claim.attempt + 1,
            outcome.status or outcome.error,
            time.monotonic() - started,
        )

    async def send(self, claim: Claim, event: dict[str, Any]) -> Outcome:
        try:
            url = await check_target(claim.url, self.policy)
        except TargetRefused as exc:
            return Outcome(False, error=str(exc))
        except TargetUnresolvable as exc:
            return self._retry(claim, error=str(exc))
        body = orjson.dumps(event)
        now = datetime.now(UTC)
        event_id = str(event["id"])
        headers = {
            "content-type": CONTENT_TYPE,
            "user-agent": USER_AGENT,
            "webhook-id": event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature_header(event_id, now, body, self._signers(claim, now)),
        }
        try:
            answer = await self.client.post(url, headers, body)
        except TargetRefused as exc:
            return Outcome(False, error=str(exc))
        except TargetUnresolvable as exc:
            return self._retry(claim, error=str(exc))
        except DeliveryFailed as exc:
            return self._retry(claim, error=str(exc)[:500])
        if 200 <= answer.status < 300:
            return Outcome(True, status=answer.status)
        if answer.status == 410:
            return Outcome(
                False,
                status=410,
                disable_reason="the endpoint answered 410 Gone",
            )
        return self._retry(
            claim,
            status=answer.status,
            retry_after=retry_after_seconds(answer.headers.get("retry-after"), now),
        )

    def _retry(
        self,
        claim: Claim,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: float | None = None,
    ) -> Outcome:
        settings = self.settings
        delay = next_delay(
            claim.attempt + 1,
            settings.webhook_retry_delays_seconds,
            jitter=settings.webhook_retry_jitter,
            retry_after=retry_after,
            retry_after_max=settings.webhook_retry_after_max_seconds,
        )
        return Outcome(False, status=status, error=error, retry_in=delay)

    def _slot(self, subscription_id: uuid.UUID) -> asyncio.Semaphore:
        slot = self.slots.get(subscription_id)
        if slot is None:
            slot = asyncio.Semaphore(self.settings.webhook_concurrency_per_subscription)
            self.slots[subscription_id] = slot
        return slot

    def _signers(self, claim: Claim, now: datetime) -> list[Webhook]:
        current = [self.signers.of(claim.secret)]
        expires = claim.previous_secret_expires_at
        if claim.previous_secret is not None and expires is not None and expires > now:
            current.append(self.signers.of(claim.previous_secret))
        return current


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def outcome_label(outcome: Outcome) -> str:
    if outcome.succeeded:
        return "delivered"
    return "failed" if outcome.retry_in is not None else "abandoned"


async def main(settings: RegistrySettings | None = None) -> None:
    settings = settings or RegistrySettings()
    configure_logging("webhooks", settings.log_level, settings.log_json)
    if settings.webhook_worker_nice:
        os.nice(settings.webhook_worker_nice)
    register_all()
    engine = create_engine(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    policy = TargetPolicy.of(settings.webhook_allow_loopback_http, settings.webhook_resolve)
    client = DeliveryClient(policy, max_idle=settings.webhook_concurrency)
    wakeup = Wakeup.of(engine, [EVENT_LOG_CHANNEL])
    wakeup.start()
    worker = DeliveryWorker(
        settings,
        engine,
        SecretBox(PiiKeys.from_settings(settings)),
        client,
        wakeup,
    )
    log.info("webhook delivery worker started (id %s)", uuid.uuid4().hex[:8])
    try:
        await worker.run(stop)
    finally:
        await wakeup.stop()
        await client.aclose()
        await engine.dispose()


def run() -> None:
    """The worker's event loop: uvloop where it is installed (it comes with
    uvicorn's standard extras, as the services run on it), whose loop and socket
    transports cost less CPU per delivery than asyncio's own."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


if __name__ == "__main__":
    run()
