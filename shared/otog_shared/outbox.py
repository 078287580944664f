"""The transactional outbox every service records its domain events in.

An event row is inserted by the same transaction as the change it describes, so it
exists exactly when the change committed. Readers (the registry's collector, which
builds the one partner feed) page through ``position``.

Why positions are handed out at commit time: a sequence value taken at insert time
orders rows by *insert*, not by commit. Transaction A inserts position 7, B inserts 8
and commits first; a reader that saw 8 and moved its cursor past it would never see 7
when A commits a moment later. Here ``position`` stays NULL while the transaction
runs; a deferred constraint trigger gives it a value just before the commit, holding a
transaction-scoped advisory lock until the commit is visible. The next committer waits
for that lock, so positions increase in commit order and a reader that has seen
position n has seen every committed row below n. The cost is that transactions which
record events commit one at a time for the last instant of their commit (the WAL flush
included); transactions without events are not affected.

The same mechanism orders the registry's merged feed (``event_log``), see
:func:`create_commit_ordered_position`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg
from alembic.operations import Operations
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

log = logging.getLogger("otog.events")

OUTBOX_TABLE = "outbox"

# Notification channels (``pg_notify``): a hint that something committed, never the
# thing itself. Readers still read by position and keep a fallback poll, so a lost
# notification (a listener reconnecting, a pooler that cannot LISTEN) only delays.
# Rows committed in a service's outbox:
OUTBOX_CHANNEL = "otog_outbox"
# Rows committed in the registry's merged feed (``event_log``) or deliveries queued:
EVENT_LOG_CHANNEL = "otog_event_log"

# Which scope lets a caller read an event, by the event type's prefix. The feed and
# the webhooks filter with it; a new event type needs its prefix here.
READ_SCOPE_BY_PREFIX: dict[str, str] = {
    "group": "registry:read",
    "product": "registry:read",
    "certification": "registry:read",
    "visit": "registry:read",
    "market_link": "registry:read",
    "session": "training:read",
    "enrollment": "training:read",
    "loan": "loans:read",
    "fund": "loans:read",
}

# The event types of the public contract; anything recorded must be one of them.
EVENT_TYPES: frozenset[str] = frozenset(
    {
        "group.created",
        "group.stage_changed",
        "group.member_added",
        "group.member_removed",
        "product.created",
        "product.certified",
        "certification.expiring",
        "visit.recorded",
        "market_link.recorded",
        "session.created",
        "session.confirmed",
        "session.cancelled",
        "session.completed",
        "enrollment.confirmed",
        "enrollment.waitlisted",
        "enrollment.promoted",
        "enrollment.cancelled",
        "enrollment.completed",
        "loan.submitted",
        "loan.approved",
        "loan.rejected",
        "loan.withdrawn",
        "loan.disbursed",
        "loan.repayment_posted",
        "loan.repayment_reversed",
        "loan.closed",
        "loan.overdue",
        "fund.budget_low",
        "webhook.ping",
    }
)

# Keys that must never appear in an event's data, at any depth: events go to partners.
PERSONAL_KEYS: frozenset[str] = frozenset(
    {
        "national_id",
        "national_id_masked",
        "first_name_th",
        "last_name_th",
        "first_name_en",
        "last_name_en",
        "name",
        "phone",
        "birth_date",
        "address",
        "email",
    }
)


def read_scope(event_type: str) -> str | None:
    """The scope needed to read events of this type (None: any authenticated caller)."""
    return READ_SCOPE_BY_PREFIX.get(event_type.split(".", 1)[0])


def _outbox_columns() -> list[Column[Any]]:
    return [
        Column("id", UUID(as_uuid=True), primary_key=True),
        # NULL until the commit hands it out; see the module's docstring.
        Column("position", BigInteger, nullable=True, unique=True),
        Column("type", String(64), nullable=False),
        Column("subject", Text, nullable=False),
        Column("province_code", String(2), nullable=True),
        Column("data", JSONB, nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


def outbox_table(metadata: MetaData) -> Table:
    """The outbox as a table of the service's own metadata (its migrations create it
    with :func:`create_outbox`)."""
    return Table(
        OUTBOX_TABLE,
        metadata,
        *_outbox_columns(),
        Index("ix_outbox_occurred_at", "occurred_at"),
    )


def create_commit_ordered_position(op: Operations, table: str, column: str = "position") -> None:
    """Make ``table.column`` a position handed out at commit, in commit order.

    ``table`` must have a ``uuid`` primary key named ``id`` and a nullable bigint
    ``column``. Used for every service's outbox and for the registry's merged feed.
    """
    seq = f"{table}_{column}_seq"
    fn = f"{table}_assign_{column}"
    op.execute(f"CREATE SEQUENCE {seq} AS bigint")
    # Identifiers come from migrations, never from input.
    op.execute(
        f"""
        CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- Held until the commit is visible: the next committer's positions
            -- are therefore greater than every position already visible.
            PERFORM pg_advisory_xact_lock(hashtext('{table}.{column}'));
            UPDATE {table} SET {column} = nextval('{seq}') WHERE id = NEW.id;
            RETURN NULL;
        END
        $$
        """  # noqa: S608
    )
    op.execute(
        f"CREATE CONSTRAINT TRIGGER {fn} AFTER INSERT ON {table} "
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {fn}()"
    )


def drop_commit_ordered_position(op: Operations, table: str, column: str = "position") -> None:
    fn = f"{table}_assign_{column}"
    op.execute(f"DROP TRIGGER IF EXISTS {fn} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {fn}()")
    op.execute(f"DROP SEQUENCE IF EXISTS {table}_{column}_seq")


def create_outbox(op: Operations) -> None:
    """For a service's migration: the outbox table and its commit-ordered position."""
    op.create_table(OUTBOX_TABLE, *_outbox_columns())
    op.create_index("ix_outbox_occurred_at", OUTBOX_TABLE, ["occurred_at"])
    create_commit_ordered_position(op, OUTBOX_TABLE)


def drop_outbox(op: Operations) -> None:
    drop_commit_ordered_position(op, OUTBOX_TABLE)
    op.drop_table(OUTBOX_TABLE)


_OUTBOX = outbox_table(MetaData())


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        bad = PERSONAL_KEYS.intersection(value)
        if bad:
            raise ValueError(f"event data must not carry personal data: {sorted(bad)}")
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, bool | int | float | str):
        return value.value  # enums
    return value


async def record_event(
    session: AsyncSession,
    event_type: str,
    *,
    subject: str,
    data: Mapping[str, Any],
    province_code: str | None = None,
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Record an event in the caller's transaction; it is published only if that commits.

    ``subject`` is the resource's public path (``/v1/groups/{id}``). ``data`` holds ids,
    codes, stages, amounts and dates, never personal data (refused here).
    """
    event = NewEvent(event_type, subject, data, province_code, event_id or uuid.uuid4())
    await record_events(session, [event])
    return event.event_id


@dataclass(frozen=True)
class NewEvent:
    event_type: str
    subject: str
    data: Mapping[str, Any]
    province_code: str | None = None
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)


async def record_events(session: AsyncSession, events: Sequence[NewEvent]) -> None:
    """Record several events in the caller's transaction with one statement (a
    batch of bookings publishes one per booking); the same rules as
    :func:`record_event`, and their positions follow the order given."""
    if not events:
        return
    for event in events:
        if event.event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event.event_type!r}")
    await session.execute(
        _RECORD_EVENTS,
        {
            "ids": [e.event_id for e in events],
            "types": [e.event_type for e in events],
            "subjects": [e.subject for e in events],
            "provinces": [e.province_code for e in events],
            "data": [json.dumps(_jsonable(e.data), ensure_ascii=False) for e in events],
            "channel": OUTBOX_CHANNEL,
        },
    )


# The rows and the notification in one round trip. The notification is sent at the
# commit, or never: PostgreSQL folds a transaction's identical notifications into
# one, so recording several events costs one.
_RECORD_EVENTS = text(
    f"""
    WITH recorded AS (
        INSERT INTO {OUTBOX_TABLE} (id, type, subject, province_code, data)
        SELECT e.id, e.type, e.subject, e.province_code, e.data::jsonb
        FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[]), CAST(:subjects AS text[]),
                    CAST(:provinces AS text[]), CAST(:data AS text[]))
             WITH ORDINALITY AS e(id, type, subject, province_code, data, ord)
        ORDER BY e.ord
        RETURNING 1
    )
    SELECT pg_notify(:channel, '') FROM (SELECT count(*) FROM recorded) AS done
    """  # noqa: S608 - the table's name is a constant
)


_NOTIFY = text("SELECT pg_notify(:channel, '')")


async def notify(session: AsyncSession | AsyncConnection, channel: str) -> None:
    """Wake the listeners of ``channel`` when the caller's transaction commits."""
    await session.execute(_NOTIFY, {"channel": channel})


class Wakeup:
    """A dedicated connection that LISTENs on ``channels``; :meth:`wait` returns as
    soon as one is notified, or after its timeout (the fallback poll).

    A notification is a hint: while the connection is being re-established nothing
    is heard, so every (re)connection wakes the waiter once, and callers always
    re-read their source by position rather than trusting the notification.
    """

    RECONNECT_SECONDS = 1.0
    # How often an idle listening connection is checked (a dead one hears nothing).
    HEALTH_SECONDS = 10.0

    def __init__(self, dsn: str, channels: Sequence[str]) -> None:
        self.dsn = dsn
        self.channels = tuple(channels)
        # Set by every notification; for one waiter that clears it (:meth:`wait`).
        self.event = asyncio.Event()
        self.listening = asyncio.Event()
        # Notifications so far, for any number of waiters (:meth:`heard_since`).
        self.heard = 0
        self._tick = asyncio.Event()
        # The listening connection's server process, while there is one.
        self.backend_pid: int | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, engine: AsyncEngine, channels: Sequence[str]) -> Wakeup:
        """Listening to the database ``engine`` connects to."""
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(dsn, channels)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="outbox-wakeup")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait(self, seconds: float) -> bool:
        """Until a notification (True) or ``seconds`` pass (False)."""
        try:
            await asyncio.wait_for(self.event.wait(), seconds)
        except TimeoutError:
            return False
        finally:
            self.event.clear()
        return True

    async def heard_since(self, heard: int, seconds: float) -> None:
        """Until a notification after the ``heard``-th, or ``seconds`` pass."""
        if self.heard != heard:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._tick.wait(), seconds)

    def _heard(self, *_args: Any) -> None:
        self.heard += 1
        self.event.set()
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    async def _listen(self) -> None:
        while True:
            conn: asyncpg.Connection[Any] | None = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
                closed = asyncio.Event()
                conn.add_termination_listener(lambda _c, closed=closed: closed.set())
                for channel in self.channels:
                    await conn.add_listener(channel, self._heard)
                self.backend_pid = conn.get_server_pid()
                self.listening.set()
                # Whatever committed while nobody listened: look once.
                self._heard()
                while not closed.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(closed.wait(), self.HEALTH_SECONDS)
                    if not closed.is_set():
                        await conn.execute("SELECT 1", timeout=5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the fallback poll carries on meanwhile
                log.warning("listening for %s failed: %s", ",".join(self.channels), exc)
            finally:
                self.listening.clear()
                self.backend_pid = None
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.terminate()
            await asyncio.sleep(self.RECONNECT_SECONDS)


@dataclass(frozen=True)
class OutboxEvent:
    id: uuid.UUID
    position: int
    type: str
    subject: str
    province_code: str | None
    data: dict[str, Any]
    occurred_at: datetime


async def read_outbox(
    conn: AsyncConnection | AsyncSession, after: int, limit: int
) -> list[OutboxEvent]:
    """Committed events with a position above ``after``, oldest first. Never skips one
    that commits later: see the module's docstring."""
    table = _OUTBOX
    rows = await conn.execute(
        select(table).where(table.c.position > after).order_by(table.c.position).limit(limit)
    )
    return [
        OutboxEvent(
            id=r.id,
            position=r.position,
            type=r.type,
            subject=r.subject,
            province_code=r.province_code,
            data=r.data,
            occurred_at=r.occurred_at,
        )
        for r in rows
    ]


async def purge_outbox(session: AsyncSession, older_than: datetime) -> int:
    """Delete events that occurred before ``older_than``; how many went.

    Only for rows long since collected (the collector follows within seconds): a row
    is never deleted for having been read, so a collector that was down for a while
    still finds everything younger than the retention.
    """
    table = _OUTBOX
    result = await session.execute(delete(table).where(table.c.occurred_at < older_than))
    return int(result.rowcount)  # type: ignore[attr-defined]
