"""Database faults on the shared app factory, against real PostgreSQL.

A test app built with ``otog_shared.app.create_app`` (the factory every service
uses) runs endpoints that meet each fault for real: a genuine deadlock and a
serialization failure between two concurrent transactions, a lock not obtained,
a statement timeout, the request's own backend terminated mid-request and before
its commit, idle pooled connections killed, a database that refuses or never
answers. Each gets its 503 problem+json with Retry-After, nothing half-written
stays, and the pool recovers by itself. A failing insert of personal data gets
a 500 whose body and log lines hold none of the values.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import APIRouter, FastAPI, Request
from otog_devstack.postgres import asyncpg_url, ensure_databases, free_port, plain_url
from otog_devstack.postgres import with_database as database_url
from otog_shared.app import create_app
from otog_shared.db import DbSession
from otog_shared.dbfaults import describe, format_exception
from otog_shared.logs import JsonFormatter, PlainFormatter
from otog_shared.settings import ServiceSettings
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.stack import Databases

router = APIRouter(prefix="/v1/faults", tags=["faults"])


async def _note(session: Any, label: str) -> None:
    await session.execute(text("INSERT INTO notes (label) VALUES (:label)"), {"label": label})


async def _barrier(request: Request) -> None:
    await asyncio.wait_for(request.app.state.barrier.wait(), 10)


@router.post("/deadlock/{label}")
async def deadlock(label: str, first: int, session: DbSession, request: Request) -> dict[str, str]:
    """Locks account ``first``, waits until the other request holds the other
    account, then asks for it: each waits for the other."""
    await _note(session, label)
    await session.execute(text("UPDATE accounts SET n = n + 1 WHERE id = :id"), {"id": first})
    await _barrier(request)
    await session.execute(text("UPDATE accounts SET n = n + 1 WHERE id = :id"), {"id": 3 - first})
    return {"label": label}


@router.post("/serialization/{label}")
async def serialization(
    label: str, delay: float, session: DbSession, request: Request
) -> dict[str, str]:
    """Reads account 3 in a repeatable-read snapshot, then updates it; the later
    of two such transactions cannot."""
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    await session.execute(text("SELECT n FROM accounts WHERE id = 3"))
    await _barrier(request)
    await asyncio.sleep(delay)
    await _note(session, label)
    await session.execute(text("UPDATE accounts SET n = n + 1 WHERE id = 3"))
    return {"label": label}


@router.post("/locked/{label}")
async def locked(label: str, session: DbSession) -> dict[str, str]:
    await _note(session, label)
    await session.execute(text("SET LOCAL lock_timeout = '200ms'"))
    await session.execute(text("SELECT n FROM accounts WHERE id = 4 FOR UPDATE"))
    return {"label": label}


@router.post("/slow/{label}")
async def slow(label: str, session: DbSession) -> dict[str, str]:
    await _note(session, label)
    await session.execute(text("SET LOCAL statement_timeout = '100ms'"))
    await session.execute(text("SELECT pg_sleep(5)"))
    return {"label": label}


@router.post("/in-task-group")
async def in_task_group(session: DbSession) -> None:
    """A fault met inside a task group reaches the handlers as an ExceptionGroup."""

    async def slow_statement() -> None:
        await session.execute(text("SET LOCAL statement_timeout = '100ms'"))
        await session.execute(text("SELECT pg_sleep(5)"))

    async with asyncio.TaskGroup() as group:
        group.create_task(slow_statement())


@router.post("/killed/{label}")
async def killed(label: str, session: DbSession) -> dict[str, str]:
    """The request's own backend is terminated (as by a server shutdown) mid-request."""
    await _note(session, label)
    await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
    return {"label": label}


@router.post("/lost-at-commit/{label}")
async def lost_at_commit(label: str, session: DbSession, request: Request) -> dict[str, str]:
    """The request's backend is terminated from outside after its writes, so the
    commit in ``get_db_session`` is what fails."""
    await _note(session, label)
    pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    await _terminate(request.app.state.settings.database_url, int(pid))
    return {"label": label}


@router.post("/hold")
async def hold(session: DbSession) -> dict[str, int]:
    pid = (await session.execute(text("SELECT pg_backend_pid() FROM pg_sleep(0.2)"))).scalar_one()
    return {"pid": int(pid)}


@router.post("/ping")
async def ping(session: DbSession) -> dict[str, int]:
    pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return {"pid": int(pid)}


class Person(BaseModel):
    name: str = Field(min_length=1)
    phone: str
    born: date


@router.post("/people")
async def add_person(person: Person, session: DbSession) -> dict[str, str]:
    await session.execute(
        text("INSERT INTO people (name, phone, born) VALUES (:name, :phone, :born)"),
        person.model_dump(),
    )
    return {"name": "stored"}


# --- fixtures ---

REFUSED = "Refuse Somchai Jaidee"
PHONE = "0812345678"
BORN = "1985-04-12"


_CLIENT_BACKENDS = """
    FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND backend_type = 'client backend' AND ($1::int IS NULL OR pid = $1)
"""


async def _terminate(url: str, pid: int | None = None) -> int:
    """Terminate the test database's client backends (or one) and wait until
    they are gone."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        terminated = await conn.fetch("SELECT pg_terminate_backend(pid)" + _CLIENT_BACKENDS, pid)
        deadline = time.monotonic() + 10
        while await conn.fetchval("SELECT count(*)" + _CLIENT_BACKENDS, pid):
            assert time.monotonic() < deadline, "backends did not terminate"
            await asyncio.sleep(0.02)
        return len(terminated)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def faults_url(databases: Databases) -> str:
    """A database of its own: these tests commit, and kill its connections."""
    ensure_databases(databases.server_url, ["test_faults"], recreate=True)
    url = asyncpg_url(database_url(databases.server_url, "test_faults"))

    async def schema() -> None:
        conn = await asyncpg.connect(plain_url(url))
        try:
            await conn.execute(
                """
                CREATE TABLE accounts (id int PRIMARY KEY, n int NOT NULL);
                CREATE TABLE notes (label text PRIMARY KEY);
                CREATE TABLE people (
                    name text NOT NULL CONSTRAINT ck_people_not_refused
                        CHECK (name NOT LIKE 'Refuse%'),
                    phone text NOT NULL,
                    born date NOT NULL
                );
                INSERT INTO accounts VALUES (1, 0), (2, 0), (3, 0), (4, 0);
                """
            )
        finally:
            await conn.close()

    asyncio.run(schema())
    return url


@asynccontextmanager
async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as c:
            yield c


def _app(settings: ServiceSettings) -> FastAPI:
    return create_app(settings, service="faults", title="t", description="t", routers=[router])


@pytest_asyncio.fixture(scope="module")
async def app(faults_url: str) -> AsyncIterator[FastAPI]:
    application = _app(ServiceSettings(database_url=faults_url))
    async with _client(application) as client:
        application.state.client = client
        yield application


@pytest.fixture
def client(app: FastAPI) -> httpx.AsyncClient:
    c: httpx.AsyncClient = app.state.client
    return c


async def _notes(url: str) -> set[str]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        return {r["label"] for r in await conn.fetch("SELECT label FROM notes")}
    finally:
        await conn.close()


async def _accounts(url: str) -> dict[int, int]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        return {r["id"]: r["n"] for r in await conn.fetch("SELECT id, n FROM accounts")}
    finally:
        await conn.close()


def assert_retryable(r: httpx.Response, slug: str, retry_after: str) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == 503
    assert body["request_id"] == r.headers["x-request-id"]
    assert r.headers["retry-after"] == retry_after


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """What the app's own log handler writes, with its own formatter, in a buffer."""
    root = logging.getLogger()
    [installed] = [
        h for h in root.handlers if isinstance(h.formatter, JsonFormatter | PlainFormatter)
    ]
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(installed.formatter)
    root.addHandler(handler)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)


# --- conflicts ---


async def test_a_genuine_deadlock_answers_503_conflict_and_writes_nothing(
    app: FastAPI, client: httpx.AsyncClient, faults_url: str
) -> None:
    before = await _accounts(faults_url)
    app.state.barrier = asyncio.Barrier(2)
    with captured_logs() as logs:
        responses = await asyncio.gather(
            client.post("/v1/faults/deadlock/dl-a", params={"first": 1}),
            client.post("/v1/faults/deadlock/dl-b", params={"first": 2}),
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 503], [r.text for r in responses]
    [lost] = [r for r in responses if r.status_code == 503]
    [won] = [r for r in responses if r.status_code == 200]
    assert_retryable(lost, "transaction-conflict", "1")
    assert "rolled back" in lost.json()["detail"]

    # The loser's note and its first update were rolled back; the winner's stand.
    notes = await _notes(faults_url)
    assert won.json()["label"] in notes
    assert {"dl-a", "dl-b"} - notes == {"dl-a", "dl-b"} - {won.json()["label"]}
    after = await _accounts(faults_url)
    assert after[1] == before[1] + 1 and after[2] == before[2] + 1
    # One warning naming the SQLSTATE; no traceback for a fault.
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    faults = [line for line in lines if line["logger"] == "otog.errors"]
    assert len(faults) == 1 and "sqlstate=40P01" in faults[0]["msg"], faults
    assert "exc" not in faults[0]


async def test_a_serialization_failure_answers_503_conflict_and_writes_nothing(
    app: FastAPI, client: httpx.AsyncClient, faults_url: str
) -> None:
    before = await _accounts(faults_url)
    app.state.barrier = asyncio.Barrier(2)
    first, second = await asyncio.gather(
        client.post("/v1/faults/serialization/ser-a", params={"delay": 0}),
        client.post("/v1/faults/serialization/ser-b", params={"delay": 0.3}),
    )
    assert first.status_code == 200, first.text
    assert_retryable(second, "transaction-conflict", "1")
    assert (await _accounts(faults_url))[3] == before[3] + 1
    notes = await _notes(faults_url)
    assert "ser-a" in notes and "ser-b" not in notes


async def test_a_lock_not_obtained_in_time_answers_503_conflict(
    client: httpx.AsyncClient, faults_url: str
) -> None:
    holder = await asyncpg.connect(plain_url(faults_url))
    try:
        async with holder.transaction():
            await holder.execute("SELECT n FROM accounts WHERE id = 4 FOR UPDATE")
            r = await client.post("/v1/faults/locked/lock-a")
    finally:
        await holder.close()
    assert_retryable(r, "transaction-conflict", "1")
    assert "locked" in r.json()["detail"]
    assert "lock-a" not in await _notes(faults_url)


async def test_a_statement_timeout_answers_503_and_writes_nothing(
    client: httpx.AsyncClient, faults_url: str
) -> None:
    r = await client.post("/v1/faults/slow/slow-a")
    assert_retryable(r, "database-unavailable", "1")
    assert "took too long" in r.json()["detail"]
    assert "slow-a" not in await _notes(faults_url)


async def test_a_fault_inside_an_exception_group_is_recognised(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/v1/faults/in-task-group")
    assert_retryable(r, "database-unavailable", "1")


# --- lost connections ---


async def test_a_connection_killed_mid_request_answers_503_and_the_next_request_works(
    client: httpx.AsyncClient, faults_url: str
) -> None:
    r = await client.post("/v1/faults/killed/kill-a")
    assert_retryable(r, "database-unavailable", "1")
    assert "kill-a" not in await _notes(faults_url)
    assert (await client.post("/v1/faults/ping")).status_code == 200


async def test_a_connection_lost_at_commit_answers_503_and_nothing_is_committed(
    client: httpx.AsyncClient, faults_url: str
) -> None:
    r = await client.post("/v1/faults/lost-at-commit/commit-a")
    assert_retryable(r, "database-unavailable", "1")
    assert "commit-a" not in await _notes(faults_url)
    assert (await client.post("/v1/faults/ping")).status_code == 200


async def test_pooled_connections_closed_by_the_server_are_replaced_before_use(
    client: httpx.AsyncClient, faults_url: str
) -> None:
    """What a database restart does to the idle pool: every connection in it is
    closed. No request fails for that, without pre-ping: each closed connection is
    noticed at checkout and replaced."""
    held = await asyncio.gather(*(client.post("/v1/faults/hold") for _ in range(6)))
    old_pids = {r.json()["pid"] for r in held}
    assert len(old_pids) == 6  # six connections in the pool, now idle
    assert await _terminate(faults_url) >= 6
    await asyncio.sleep(0.1)  # the event loop reads the closed sockets

    responses = [await client.post("/v1/faults/ping") for _ in range(10)]
    assert [r.status_code for r in responses] == [200] * 10
    assert not {r.json()["pid"] for r in responses} & old_pids
    ready = await client.get("/v1/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


async def test_a_database_that_refuses_connections_answers_503_and_readiness_too(
    faults_url: str,
) -> None:
    host = faults_url.split("@")[1].split("/")[0]
    nowhere = faults_url.replace(host, f"127.0.0.1:{free_port()}")
    async with _client(_app(ServiceSettings(database_url=nowhere))) as client:
        with captured_logs() as logs:
            r = await client.post("/v1/faults/ping")
            ready = await client.get("/v1/health/ready")
    assert_retryable(r, "database-unavailable", "1")
    assert_retryable(ready, "database-unavailable", "1")
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    warnings = [line for line in lines if line["logger"] == "otog.errors"]
    # The request's warning names the cause; readiness's carries it as "cause".
    assert any("DatabaseUnreachable" in line["msg"] for line in warnings), warnings
    assert any("DatabaseUnreachable" in line.get("cause", "") for line in warnings), warnings


async def test_a_database_that_never_answers_gives_503_after_the_connect_timeout(
    faults_url: str,
) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nobody ever answers
    port = silent.getsockname()[1]
    host = faults_url.split("@")[1].split("/")[0]
    settings = ServiceSettings(
        database_url=faults_url.replace(host, f"127.0.0.1:{port}"),
        db_connect_timeout_seconds=0.5,
    )
    try:
        async with _client(_app(settings)) as client:
            started = time.monotonic()
            r = await client.post("/v1/faults/ping")
            elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert_retryable(r, "database-unavailable", "1")
    assert elapsed < 5, elapsed


# --- personal data stays out of logs and answers ---


async def test_a_failing_insert_of_personal_data_logs_and_answers_none_of_it(
    client: httpx.AsyncClient,
) -> None:
    with captured_logs() as logs:
        r = await client.post(
            "/v1/faults/people", json={"name": REFUSED, "phone": PHONE, "born": BORN}
        )
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/internal-error"
    written = logs.getvalue()
    # The error is there, by class, SQLSTATE and constraint, with its traceback...
    assert "CheckViolationError" in written and "sqlstate=23514" in written
    assert "ck_people_not_refused" in written
    assert "Traceback" in written
    # ...and none of the person's values, in any form PostgreSQL or Python writes them.
    for value in (REFUSED, "Somchai", PHONE, BORN, "1985, 4, 12", "Failing row"):
        assert value not in written, value
        assert value not in r.text, value


async def _check_violation(url: str, *, hide_parameters: bool) -> IntegrityError:
    engine = create_async_engine(url, hide_parameters=hide_parameters)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO people (name, phone, born) VALUES (:n, :p, :b)"),
                {"n": REFUSED, "p": PHONE, "b": date(1985, 4, 12)},
            )
    except IntegrityError as exc:
        return exc
    finally:
        await engine.dispose()
    raise AssertionError("the insert should have failed")


@pytest.mark.parametrize("hide_parameters", [True, False])
async def test_log_formatters_tell_database_errors_without_values(
    faults_url: str, hide_parameters: bool
) -> None:
    """Even from an engine that shows its parameters, and though asyncpg's own
    text carries PostgreSQL's DETAIL with the whole row."""
    exc = await _check_violation(faults_url, hide_parameters=hide_parameters)
    assert not hide_parameters or REFUSED not in str(exc)
    assert "Failing row contains" in str(exc.orig.__cause__)  # what would leak
    try:
        raise RuntimeError("handling failed") from exc
    except RuntimeError as wrapped:
        record = logging.LogRecord(
            "otog.errors", logging.ERROR, __file__, 1, "failed: %s", (exc,), None
        )
        record.exc_info = (type(wrapped), wrapped, wrapped.__traceback__)
    outputs = [
        JsonFormatter("t").format(record),
        PlainFormatter("%(levelname)s %(message)s").format(record),
    ]
    for out in outputs:
        assert "sqlalchemy.exc.IntegrityError" in out
        assert "sqlstate=23514" in out and "constraint=ck_people_not_refused" in out
        assert "table=people" in out
        assert "RuntimeError: handling failed" in out
        assert "The above exception was the direct cause" in out
        for value in (REFUSED, PHONE, "1985", "Failing row", "[parameters"):
            assert value not in out, (value, out)


def test_validation_errors_are_told_without_their_input() -> None:
    given = {"name": "", "phone": PHONE, "born": "12 April 1985"}
    try:
        Person.model_validate(given)
    except ValidationError as exc:
        told = describe(exc)
        traced = format_exception(exc)
    assert "2 invalid value(s)" in told and "name (string_too_short)" in told
    assert "born (date_from_datetime_parsing)" in told
    for out in (told, traced):
        assert "12 April" not in out and PHONE not in out


def test_other_errors_keep_their_message() -> None:
    try:
        raise KeyError("status")
    except KeyError as exc:
        assert describe(exc) == "KeyError: 'status'"
