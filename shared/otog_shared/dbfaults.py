"""Database faults: which failures a client should simply retry, and how a
database error is told in a log without the values it carries.

Two kinds of failure are nobody's mistake and pass by themselves:

- **unavailable**: the database is down, restarting, refusing connections, or
  the connection broke (a server restart, a killed backend, a network fault);
- **conflict**: the transaction lost a race with a concurrent one (serialization
  failure, deadlock, a lock not obtained) and PostgreSQL rolled it back.

Everything else stays an unexpected error. The error handlers (``errors.py``)
turn the two kinds into 503 with ``Retry-After``.

PostgreSQL's error texts carry row values (``DETAIL: Failing row contains (…)``,
``Key (col)=(value) already exists``, ``invalid input syntax for type …: "…"``),
SQLAlchemy's carry the statement's parameters, pydantic's the input: names,
birth dates, phone numbers are personal data under the PDPA and never go into a
log. :func:`describe` and :func:`format_exception` tell such exceptions by their
class, SQLSTATE and the names of the constraint, table and column only.
"""

from __future__ import annotations

import enum
import traceback
from collections import deque
from collections.abc import Iterator
from typing import Any, NamedTuple

import asyncpg
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.connectors.asyncio import AsyncAdapt_Error
from sqlalchemy.engine import Engine


class Fault(enum.Enum):
    UNAVAILABLE = "unavailable"
    CONFLICT = "conflict"


class Diagnosis(NamedTuple):
    fault: Fault
    # PostgreSQL's condition name when it gave a SQLSTATE, else what failed.
    reason: str


class DatabaseUnreachable(Exception):
    """Connecting to the database failed at the socket (refused, reset, timed out).

    asyncpg raises these as plain ``OSError``s, which SQLAlchemy passes through
    unwrapped; this names them as the database's so that they, and only they,
    become 503 (an ``OSError`` from anywhere else stays an unexpected error)."""


# SQLSTATEs: https://www.postgresql.org/docs/current/errcodes-appendix.html
_CONFLICT_STATES = {
    "40001": "serialization_failure",
    "40P01": "deadlock_detected",
    "55P03": "lock_not_available",
}
_UNAVAILABLE_STATES = {
    "57P01": "admin_shutdown",
    "57P02": "crash_shutdown",
    "57P03": "cannot_connect_now",
    # A statement cancelled (statement_timeout, or by an operator): the transaction
    # is rolled back; the database is overloaded or being worked on.
    "57014": "query_canceled",
    # A write on a server that is (now) a standby: in a highly available cluster
    # the connection was made to the primary before a failover demoted it, or
    # while the cluster had none. Another connection reaches the new primary.
    "25006": "read_only_sql_transaction",
}
# The same, in words, for when only the message says it.
_READ_ONLY_MESSAGES = ("in a read-only transaction", "during recovery")
# Whole classes: 08 connection exceptions, 53 insufficient resources (too many
# connections, out of memory, disk full).
_UNAVAILABLE_CLASSES = ("08", "53")


def classify(exc: BaseException) -> Diagnosis | None:
    """The fault behind ``exc`` (looking through its causes), or None."""
    chain = list(_chain(exc))
    for e in chain:
        state = getattr(e, "sqlstate", None)
        if not isinstance(state, str):
            continue
        if state in _CONFLICT_STATES:
            return Diagnosis(Fault.CONFLICT, _CONFLICT_STATES[state])
        if state in _UNAVAILABLE_STATES:
            return Diagnosis(Fault.UNAVAILABLE, _UNAVAILABLE_STATES[state])
        if state.startswith(_UNAVAILABLE_CLASSES):
            return Diagnosis(Fault.UNAVAILABLE, f"sqlstate {state}")
    for e in chain:
        if isinstance(e, DatabaseUnreachable):
            return Diagnosis(Fault.UNAVAILABLE, "connect_failed")
        if isinstance(e, sa_exc.TimeoutError):  # no pooled connection came free in time
            return Diagnosis(Fault.UNAVAILABLE, "pool_timeout")
        if isinstance(e, sa_exc.DisconnectionError):
            return Diagnosis(Fault.UNAVAILABLE, "connection_lost")
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return Diagnosis(Fault.UNAVAILABLE, "connection_lost")
        # A session used again after its connection was lost mid-transaction (the
        # first error was handled, e.g. a batch that fell back): still that loss.
        if isinstance(e, sa_exc.PendingRollbackError) and "invalid transaction" in str(e):
            return Diagnosis(Fault.UNAVAILABLE, "connection_lost")
        # What SQLAlchemy's asyncpg dialect (``is_disconnect``) takes for a lost
        # connection when the error is raised before a statement reaches the wire.
        if isinstance(e, asyncpg.InterfaceError) and "connection is closed" in str(e):
            return Diagnosis(Fault.UNAVAILABLE, "connection_lost")
        # Every host of a multi-host URL answered, none takes writes (asyncpg's
        # ``target_session_attrs=read-write``): a failover is under way.
        if isinstance(e, asyncpg.exceptions.TargetServerAttributeNotMatched):
            return Diagnosis(Fault.UNAVAILABLE, "no_writable_host")
        if _says_read_only(e):
            return Diagnosis(Fault.UNAVAILABLE, "read_only_sql_transaction")
    return None


def _says_read_only(e: BaseException) -> bool:
    """A PostgreSQL error without SQLSTATE in reach that says the server is a
    standby ("cannot execute INSERT in a read-only transaction", "… during
    recovery"). Only the server's own errors are read: its message names a
    statement kind, never a value."""
    if not isinstance(e, asyncpg.PostgresError | AsyncAdapt_Error):
        return False
    text = str(e)
    return text.startswith("cannot execute") and any(m in text for m in _READ_ONLY_MESSAGES)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then its causes, contexts, SQLAlchemy's ``orig`` and a group's
    members, nearest first, each once."""
    seen: set[int] = set()
    queue: deque[BaseException] = deque([exc])
    while queue:
        e = queue.popleft()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        if isinstance(e, BaseExceptionGroup):
            queue.extend(e.exceptions)
        orig = getattr(e, "orig", None) if isinstance(e, sa_exc.StatementError) else None
        for nxt in (orig, e.__cause__, e.__context__):
            if isinstance(nxt, BaseException):
                queue.append(nxt)


# --- telling exceptions without their values ---

_NAME_FIELDS = ("schema_name", "table_name", "column_name", "constraint_name", "data_type_name")


def _db_fields(e: BaseException) -> list[str]:
    """SQLSTATE and the names PostgreSQL reported, from ``e`` or what it wraps."""
    fields: dict[str, str] = {}
    for inner in _chain(e):
        state = getattr(inner, "sqlstate", None)
        if isinstance(state, str):
            fields.setdefault("sqlstate", state)
        if isinstance(inner, asyncpg.PostgresError):
            for name in _NAME_FIELDS:
                value = getattr(inner, name, None)
                if isinstance(value, str) and value:
                    fields.setdefault(name.removesuffix("_name"), value)
            break
    return [f"{k}={v}" for k, v in fields.items()]


def _qualname(cls: type[BaseException]) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _validation_summary(errors: list[Any]) -> str:
    parts = []
    for err in errors[:10]:
        if isinstance(err, dict):
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc or '?'} ({err.get('type', 'invalid')})")
    more = f" and {len(errors) - 10} more" if len(errors) > 10 else ""
    return f"{len(errors)} invalid value(s): " + "; ".join(parts) + more


def _driver_message_is_safe(e: BaseException) -> bool:
    """asyncpg's interface errors say what state the connection is in ("connection
    is closed", "another operation is in progress"); its DataError, one of them,
    quotes the argument it could not encode."""
    return isinstance(e, asyncpg.InterfaceError) and not isinstance(e, asyncpg.exceptions.DataError)


def _safe_text(e: BaseException) -> str:
    if isinstance(e, sa_exc.StatementError):
        # Its text is the driver's message plus the SQL and its parameters.
        parts = [f"from {type(e.orig).__name__}"] if e.orig is not None else []
        parts += _db_fields(e)
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            parts.append("connection invalidated")
        return ", ".join(parts)
    if isinstance(e, AsyncAdapt_Error):
        # SQLAlchemy's copy of an asyncpg error: the same message, minus DETAIL.
        if e.__cause__ is not None and _driver_message_is_safe(e.__cause__):
            return str(e)
        return ", ".join(_db_fields(e))
    if isinstance(e, asyncpg.PostgresError):
        # The server's message itself can quote a value ("invalid input syntax
        # for type date: …"), its DETAIL the whole row.
        return ", ".join(_db_fields(e))
    if isinstance(e, asyncpg.InterfaceError):
        return str(e) if _driver_message_is_safe(e) else "a query argument could not be encoded"
    if isinstance(e, PydanticValidationError):
        return _validation_summary(list(e.errors()))
    errors = getattr(e, "errors", None)
    if type(e).__module__.startswith("fastapi") and callable(errors):
        # FastAPI's request and response validation errors echo the input.
        return _validation_summary(list(errors()))
    return str(e)


def describe(exc: BaseException) -> str:
    """``module.Class: text``, the text stripped of any values a database or
    validation error would quote."""
    text = _safe_text(exc)
    name = _qualname(type(exc))
    return f"{name}: {text}" if text else name


def format_exception(exc: BaseException) -> str:
    """A traceback like Python's (frames, causes, contexts, group members), each
    exception told by :func:`describe`."""
    lines: list[str] = []
    _format_into(lines, exc, set(), "")
    return "".join(lines).rstrip("\n")


def _format_into(lines: list[str], exc: BaseException, seen: set[int], indent: str) -> None:
    seen.add(id(exc))
    cause, context = exc.__cause__, exc.__context__
    if cause is not None and id(cause) not in seen:
        _format_into(lines, cause, seen, indent)
        lines.append(
            f"\n{indent}The above exception was the direct cause of the following exception:\n\n"
        )
    elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
        _format_into(lines, context, seen, indent)
        lines.append(
            f"\n{indent}During handling of the above exception, another exception occurred:\n\n"
        )
    if exc.__traceback__ is not None:
        lines.append(f"{indent}Traceback (most recent call last):\n")
        for frame in traceback.format_tb(exc.__traceback__):
            lines.extend(f"{indent}{line}\n" for line in frame.rstrip("\n").split("\n"))
    lines.append(f"{indent}{describe(exc)}\n")
    if isinstance(exc, BaseExceptionGroup):
        for i, member in enumerate(exc.exceptions, 1):
            lines.append(f"{indent}+---------------- {i} ----------------\n")
            if id(member) not in seen:
                _format_into(lines, member, seen, indent + "| ")


# --- the engine's side ---


def watch_engine(engine: Engine) -> None:
    """Make a pool survive a database restart by itself.

    - A pooled connection the server has closed meanwhile (asyncpg noticed the
      socket close while it was idle) is replaced at checkout, before a request
      uses it: a flag check, no round trip, unlike ``pool_pre_ping``.
    - Socket errors while connecting become :class:`DatabaseUnreachable`.
    - A connection that turns out to be on a standby (a write refused as
      read-only: the node was demoted under it) is discarded like a lost one,
      and with it the rest of the pool, which was made to the same node.
    """

    @event.listens_for(engine, "checkout")
    def _replace_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        driver = getattr(proxy, "driver_connection", None)
        if driver is not None and driver.is_closed():
            # The pool invalidates this connection and takes a new one.
            raise sa_exc.DisconnectionError("the server closed this pooled connection")

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as exc:  # refused, reset, unreachable; TimeoutError is one too
            raise DatabaseUnreachable(
                f"cannot connect to the database: {_qualname(type(exc))}"
            ) from exc

    @event.listens_for(engine, "handle_error")
    def _discard_standby(context: Any) -> None:
        if context.is_disconnect or context.original_exception is None:
            return
        found = classify(context.original_exception)
        if found is not None and found.reason == "read_only_sql_transaction":
            # SQLAlchemy then invalidates this connection and the pool's older ones.
            context.is_disconnect = True
