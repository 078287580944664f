"""A real webhook receiver, events written into ``event_log``, and worker processes."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
from cloudevents.v1.http import from_http
from otog_devstack.postgres import free_port, plain_url
from otog_devstack.processes import stop_group
from standardwebhooks import Webhook


@dataclass
class Received:
    event_id: str
    headers: dict[str, str]
    body: bytes
    event: dict[str, Any]
    # Which of the receiver's secrets verified the signature on its own.
    verified_by: list[str]
    at: float


# (request number from 1) -> (status, extra headers, seconds to wait before answering)
Behaviour = Callable[[int], tuple[int, dict[str, str], float]]


def always(status: int) -> Behaviour:
    return lambda _n: (status, {}, 0.0)


@dataclass
class Receiver:
    """An HTTP server that verifies every request the Standard Webhooks way and parses
    every body as a CloudEvent (the SDK's structured mode). Only requests that pass
    both and are answered 2xx count as received."""

    secrets: list[str] = field(default_factory=list)
    behaviour: Behaviour = field(default=lambda _n: (204, {}, 0.0))
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    requests: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.requests += 1
                    number = receiver.requests
                status, extra, delay = receiver.behaviour(number)
                if delay:
                    time.sleep(delay)
                problem = receiver._check(headers, body, status)
                if problem is not None:
                    with receiver._lock:
                        receiver.refused.append(problem)
                    status = 400
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def _check(self, headers: dict[str, str], body: bytes, status: int) -> str | None:
        if headers.get("content-type") != "application/cloudevents+json":
            return f"content type {headers.get('content-type')}"
        verified = []
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except Exception:  # noqa: S112 - this secret does not verify it
                continue
            verified.append(secret)
        if not verified:
            return "no signature verifies"
        try:
            event = from_http(headers, body)
        except Exception as exc:
            return f"not a CloudEvent: {exc}"
        if event["id"] != headers["webhook-id"]:
            return "webhook-id is not the event's id"
        if 200 <= status < 300:
            with self._lock:
                self.received.append(
                    Received(
                        event["id"], headers, body, json.loads(body), verified, time.monotonic()
                    )
                )
        return None

    def ids(self) -> set[str]:
        with self._lock:
            return {r.event_id for r in self.received}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


_positions = itertools.count(time.time_ns())


@dataclass(frozen=True)
class Event:
    type: str
    province_code: str | None = "10"
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    data: dict[str, Any] = field(default_factory=lambda: {"group_id": str(uuid.uuid4())})

    @property
    def subject(self) -> str:
        return f"/v1/groups/{self.data.get('group_id')}"


async def _insert(db_url: str, events: list[Event], *, notify: bool = False) -> None:
    conn = await asyncpg.connect(plain_url(db_url))
    try:
        async with conn.transaction():
            await _insert_rows(conn, events)
            if notify:
                # As the collector does: the delivery worker is woken at the commit.
                await conn.execute("SELECT pg_notify('otog_event_log', '')")
    finally:
        await conn.close()


async def _insert_rows(conn: asyncpg.Connection, events: list[Event]) -> None:
    await conn.executemany(
        "INSERT INTO event_log (id, source, source_position, type, subject, province_code,"
        " data, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)",
        [
            (
                e.id,
                "/otog/registry",
                next(_positions),
                e.type,
                e.subject,
                e.province_code,
                json.dumps(e.data),
                datetime.now(UTC),
            )
            for e in events
        ],
    )


def record_events(db_url: str, events: list[Event], *, notify: bool = False) -> list[str]:
    """Write events into the registry's merged log as its collector does (committed,
    position handed out at commit); without ``notify``, as if the notification that
    goes with them were lost."""
    asyncio.run(_insert(db_url, events, notify=notify))
    return [str(e.id) for e in events]


async def _fetch(db_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_url(db_url))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


def fetch(db_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    return asyncio.run(_fetch(db_url, query, *args))


class WorkerProcess:
    """``python -m otog_registry.webhooks.worker`` as a process of its own."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        with open(log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "otog_registry.webhooks.worker"],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL: no cleanup, attempts in flight abandoned."""
        os.killpg(os.getpgid(self.proc.pid), signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            stop_group(self.proc.pid, 15)
