"""Queries of the webhooks domain: subscriptions and deliveries for the API, and what
the delivery worker does (fan-out from ``event_log``, claims, outcomes)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from otog_shared.outbox import EVENT_LOG_CHANNEL, notify
from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    Text,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from otog_registry.events.cloudevent import to_cloudevent
from otog_registry.events.models import event_log
from otog_registry.ids import new_ids
from otog_registry.webhooks.models import (
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookDelivery,
    WebhookFanoutCursor,
    WebhookSubscription,
)

REPLAY_CHUNK = 5000

# Result rows of ad-hoc selects (columns read by name).
AnyRow = Any


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, subscription: WebhookSubscription) -> WebhookSubscription:
        self.session.add(subscription)
        await self.session.flush()
        await self.session.refresh(subscription)
        return subscription

    async def get(
        self, webhook_id: uuid.UUID, *, for_update: bool = False
    ) -> WebhookSubscription | None:
        stmt = select(WebhookSubscription).where(WebhookSubscription.id == webhook_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).one_or_none()

    async def page(
        self, *, client_id: str | None, after: uuid.UUID | None, limit: int
    ) -> list[WebhookSubscription]:
        stmt = select(WebhookSubscription).order_by(WebhookSubscription.id).limit(limit)
        if client_id is not None:
            stmt = stmt.where(WebhookSubscription.client_id == client_id)
        if after is not None:
            stmt = stmt.where(WebhookSubscription.id > after)
        return list((await self.session.scalars(stmt)).all())

    async def remove(self, subscription: WebhookSubscription) -> None:
        await self.session.execute(
            delete(WebhookSubscription).where(WebhookSubscription.id == subscription.id)
        )

    async def add_delivery(self, delivery: WebhookDelivery) -> WebhookDelivery:
        self.session.add(delivery)
        await self.session.flush()
        # The delivery worker wakes at the commit rather than at its next poll.
        await notify(self.session, EVENT_LOG_CHANNEL)
        return delivery

    async def deliveries(
        self, subscription_id: uuid.UUID, *, before: uuid.UUID | None, limit: int
    ) -> list[WebhookDelivery]:
        """Newest first (ids are time-ordered)."""
        stmt = (
            select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == subscription_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(WebhookDelivery.id < before)
        return list((await self.session.scalars(stmt)).all())

    async def replay(
        self,
        subscription_id: uuid.UUID,
        *,
        types: Collection[str],
        province_code: str | None,
        since: datetime,
        until: datetime,
    ) -> int:
        """Queue again every event of the window the subscription matches."""
        e = event_log.c
        stmt = (
            select(e.id, e.type)
            .where(
                e.position.is_not(None),
                e.type.in_(list(types)),
                e.occurred_at >= since,
                e.occurred_at < until,
            )
            .order_by(e.position)
        )
        if province_code is not None:
            stmt = stmt.where(e.province_code == province_code)
        total = 0
        result = await self.session.stream(stmt.execution_options(yield_per=REPLAY_CHUNK))
        async for chunk in result.partitions(REPLAY_CHUNK):
            await queue_deliveries(
                self.session, [(subscription_id, ev.id, ev.type) for ev in chunk], replay=True
            )
            total += len(chunk)
        if total:
            await notify(self.session, EVENT_LOG_CHANNEL)
        return total


async def queue_deliveries(
    executor: AsyncSession | AsyncConnection,
    rows: Sequence[tuple[uuid.UUID, uuid.UUID, str]],
    *,
    replay: bool,
) -> None:
    """(subscription id, event id, event type) to deliver now, in one statement."""
    if not rows:
        return
    await executor.execute(
        _QUEUE,
        {
            "ids": new_ids(len(rows)),
            "subscriptions": [sub for sub, _, _ in rows],
            "events": [event for _, event, _ in rows],
            "types": [type_ for _, _, type_ in rows],
            "replay": replay,
        },
    )


@dataclass(frozen=True)
class Target:
    """What the fan-out matches events against, per enabled subscription."""

    id: uuid.UUID
    types: frozenset[str]
    province_code: str | None
    created_at: datetime


@dataclass(frozen=True)
class Claim:
    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    lease_token: uuid.UUID
    event_id: uuid.UUID
    attempt: int
    url: str
    # The CloudEvent to send (a ping's is kept with the delivery, the others' in
    # event_log); None when the event is no longer kept.
    event: dict[str, Any] | None
    secret: bytes
    previous_secret: bytes | None
    previous_secret_expires_at: datetime | None


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status: int | None = None
    error: str | None = None
    # Seconds until the next attempt; None when the delivery is given up.
    retry_in: float | None = None
    # Disable the subscription with this reason (410 Gone).
    disable_reason: str | None = None


class DeliveryStore:
    """The worker's statements, on a plain connection. Each method runs in the
    caller's transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def lock_cursor(self) -> int | None:
        """The fan-out cursor, locked for this transaction; None while another
        worker holds it (it is fanning out: nothing to do here)."""
        # The row exists but for the very first fan-out: one statement per look.
        position = await self._locked_cursor()
        if position is None:
            await self.connection.execute(
                pg_insert(WebhookFanoutCursor)
                .values(id=1, position=0)
                .on_conflict_do_nothing(index_elements=["id"])
            )
            position = await self._locked_cursor()
        return position

    async def _locked_cursor(self) -> int | None:
        row = await self.connection.execute(
            select(WebhookFanoutCursor.position)
            .where(WebhookFanoutCursor.id == 1)
            .with_for_update(skip_locked=True)
        )
        return row.scalar_one_or_none()

    async def events_after(self, position: int, limit: int) -> list[AnyRow]:
        e = event_log.c
        rows = await self.connection.execute(
            select(e.id, e.position, e.type, e.province_code, e.recorded_at)
            .where(e.position > position)
            .order_by(e.position)
            .limit(limit)
        )
        return list(rows)

    async def targets(self) -> list[AnyRow]:
        """What the fan-out matches against, as plain rows: no ORM objects to build
        and track for each look at the feed."""
        s = WebhookSubscription
        rows = await self.connection.execute(
            select(s.id, s.event_types, s.scopes, s.province_code, s.created_at).where(
                s.enabled.is_(True)
            )
        )
        return list(rows)

    async def queue(self, rows: list[tuple[uuid.UUID, uuid.UUID, str]]) -> None:
        """(subscription id, event id, event type) to deliver now."""
        await queue_deliveries(self.connection, rows, replay=False)

    async def skip_to_head(self, position: int) -> None:
        """Move the locked cursor from ``position`` to the feed's last committed
        event, if it is not there yet."""
        await self.connection.execute(
            text(
                """
                UPDATE webhook_fanout_cursor
                SET position = head.top, updated_at = now()
                FROM (SELECT max(position) AS top FROM event_log) AS head
                WHERE id = 1 AND head.top > :position
                """
            ),
            {"position": position},
        )

    async def move_cursor(self, position: int) -> None:
        await self.connection.execute(
            update(WebhookFanoutCursor)
            .where(WebhookFanoutCursor.id == 1)
            .values(position=position, updated_at=func.now())
        )

    async def claim(
        self, *, limit: int, per_subscription: int, lease_seconds: float
    ) -> list[Claim]:
        """Due deliveries for this worker, each under a lease of its own.

        Per subscription, no more are taken than ``per_subscription`` minus those
        already leased by any worker, so one slow receiver holds a bounded share of
        the claims and every other subscription's deliveries still go out.
        ``SKIP LOCKED``: replicas claiming at once take different rows.
        """
        rows = await self.connection.execute(
            CLAIM,
            {"per_sub": per_subscription, "limit": limit, "lease": lease_seconds},
        )
        return [
            Claim(
                delivery_id=r.id,
                subscription_id=r.subscription_id,
                lease_token=r.lease_token,
                event_id=r.event_id,
                attempt=r.attempt,
                url=r.url,
                event=r.event if r.event is not None else _logged_event(r),
                secret=r.secret,
                previous_secret=r.previous_secret,
                previous_secret_expires_at=r.previous_secret_expires_at,
            )
            for r in rows
        ]

    async def record(
        self, outcomes: Sequence[tuple[Claim, Outcome]], *, disable_after_seconds: float
    ) -> int:
        """Write the outcomes of attempts whose lease this worker still holds, in one
        statement; how many leases had lapsed (another worker took those over).

        Then each subscription's failure bookkeeping, by the order of its outcomes:
        a success clears ``failing_since``, a failure after it starts it again."""
        rows = await self.connection.execute(
            _RECORD,
            {
                "ids": [c.delivery_id for c, _ in outcomes],
                "tokens": [c.lease_token for c, _ in outcomes],
                "statuses": [_status(o) for _, o in outcomes],
                "retry_in": [o.retry_in if not o.succeeded else None for _, o in outcomes],
                "codes": [o.status for _, o in outcomes],
                "errors": [o.error for _, o in outcomes],
            },
        )
        kept = {r.id for r in rows}
        # Per subscription: whether any attempt succeeded, and its last failure if
        # that came after every success.
        succeeded: set[uuid.UUID] = set()
        last_failure: dict[uuid.UUID, Outcome] = {}
        for claim, outcome in outcomes:
            if claim.delivery_id not in kept:
                continue
            sub_id = claim.subscription_id
            if outcome.succeeded:
                succeeded.add(sub_id)
                last_failure.pop(sub_id, None)
            else:
                last_failure[sub_id] = outcome
        sub = WebhookSubscription
        if succeeded:
            await self.connection.execute(
                update(sub)
                .where(sub.id.in_(list(succeeded)), sub.failing_since.is_not(None))
                .values(failing_since=None)
            )
        for sub_id, outcome in last_failure.items():
            await self._failed(
                sub_id,
                outcome,
                restart=sub_id in succeeded,
                disable_after_seconds=disable_after_seconds,
            )
        return len(outcomes) - len(kept)

    async def _failed(
        self,
        subscription_id: uuid.UUID,
        outcome: Outcome,
        *,
        restart: bool,
        disable_after_seconds: float,
    ) -> None:
        sub = WebhookSubscription
        since = update(sub).where(sub.id == subscription_id)
        if not restart:
            since = since.where(sub.failing_since.is_(None))
        await self.connection.execute(since.values(failing_since=func.now()))
        reason = outcome.disable_reason
        if reason is None:
            # Three days of failures with no success between them.
            await self.connection.execute(
                update(sub)
                .where(
                    sub.id == subscription_id,
                    sub.enabled.is_(True),
                    sub.failing_since
                    <= func.now() - func.make_interval(0, 0, 0, 0, 0, 0, disable_after_seconds),
                )
                .values(
                    enabled=False,
                    disabled_at=func.now(),
                    disabled_reason=text(
                        "'every delivery has failed since ' || "
                        "to_char(failing_since AT TIME ZONE 'UTC', "
                        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ' (the last: ' || :why || ')'"
                    ).bindparams(why=outcome.error or f"HTTP {outcome.status}"),
                    version=sub.version + 1,
                    updated_at=func.now(),
                )
            )
        else:
            await self.connection.execute(
                update(sub)
                .where(sub.id == subscription_id, sub.enabled.is_(True))
                .values(
                    enabled=False,
                    disabled_at=func.now(),
                    disabled_reason=reason,
                    version=sub.version + 1,
                    updated_at=func.now(),
                )
            )


@dataclass(frozen=True)
class _LoggedEvent:
    id: uuid.UUID
    source: str
    type: str
    subject: str
    province_code: str | None
    data: Any
    occurred_at: datetime


def _logged_event(row: AnyRow) -> dict[str, Any] | None:
    """The claimed delivery's event from ``event_log``, as partners get it; None when
    it is no longer kept."""
    if row.logged_id is None:
        return None
    return to_cloudevent(
        _LoggedEvent(
            row.logged_id,
            row.source,
            row.type,
            row.subject,
            row.province_code,
            row.data,
            row.occurred_at,
        )
    )


def _status(outcome: Outcome) -> str:
    if outcome.succeeded:
        return SUCCEEDED
    return PENDING if outcome.retry_in is not None else FAILED


# A claim (DeliveryStore.claim): :per_sub, :limit, :lease.
CLAIM = text(
    """
    WITH picked AS (
        SELECT d.id, d.event_id
        FROM webhook_subscriptions s
        CROSS JOIN LATERAL (
            SELECT d.id, d.event_id
            FROM webhook_deliveries d
            WHERE d.subscription_id = s.id
              AND d.status = 'pending'
              AND d.next_attempt_at <= now()
              AND (d.lease_until IS NULL OR d.lease_until <= now())
            ORDER BY d.next_attempt_at
            LIMIT GREATEST(0, :per_sub - (
                SELECT count(*) FROM webhook_deliveries f
                WHERE f.subscription_id = s.id
                  AND f.status = 'pending'
                  AND f.lease_until IS NOT NULL
                  AND f.lease_until > now()
            ))
            FOR UPDATE OF d SKIP LOCKED
        ) d
        WHERE s.enabled
        LIMIT :limit
    )
    UPDATE webhook_deliveries w
    SET lease_until = now() + make_interval(secs => :lease),
        lease_token = gen_random_uuid(),
        claimed_at = now()
    FROM picked
         -- The event itself in the same round trip (absent once expired).
         LEFT JOIN event_log e ON e.id = picked.event_id,
         webhook_subscriptions s
    WHERE w.id = picked.id AND s.id = w.subscription_id
    RETURNING w.id, w.subscription_id, w.lease_token, w.event_id, w.attempt,
              w.event, s.url, s.secret, s.previous_secret,
              s.previous_secret_expires_at,
              e.id AS logged_id, e.source, e.type, e.subject, e.province_code,
              e.data, e.occurred_at
    """
)


# Deliveries queued in one statement (a fan-out's, a replay's chunk): one execution,
# not one per row.
_QUEUE = text(
    """
    INSERT INTO webhook_deliveries
        (id, subscription_id, event_id, event_type, status, attempt, next_attempt_at, replay)
    SELECT v.id, v.subscription_id, v.event_id, v.event_type, 'pending', 0, now(), :replay
    FROM unnest(:ids, :subscriptions, :events, :types)
         AS v(id, subscription_id, event_id, event_type)
    """
).bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("subscriptions", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("events", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("types", type_=ARRAY(Text)),
    bindparam("replay", type_=Boolean),
)

# Every outcome of a batch in one statement: under load one round trip (and one
# plan) serves a hundred deliveries instead of three statements each.
_RECORD = text(
    """
    UPDATE webhook_deliveries d
    SET attempt = d.attempt + 1,
        last_attempt_at = now(),
        response_status = v.code,
        error = v.error,
        lease_until = NULL,
        lease_token = NULL,
        status = v.status,
        next_attempt_at = CASE WHEN v.retry_in IS NULL THEN NULL
                               ELSE now() + make_interval(secs => v.retry_in) END
    FROM unnest(:ids, :tokens, :statuses, :retry_in, :codes, :errors)
         AS v(id, token, status, retry_in, code, error)
    WHERE d.id = v.id AND d.lease_token = v.token
    RETURNING d.id
    """
).bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("tokens", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("statuses", type_=ARRAY(Text)),
    bindparam("retry_in", type_=ARRAY(Float)),
    bindparam("codes", type_=ARRAY(Integer)),
    bindparam("errors", type_=ARRAY(Text)),
)
