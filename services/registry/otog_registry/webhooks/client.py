"""The HTTP client deliveries are sent with: one POST of a small body over kept-alive
HTTP/1.1 connections, each connection made to an address just checked
(:func:`otog_registry.webhooks.ssrf.checked_addresses`), never to the name.

Why not httpx here (it remains the client everywhere else): a delivery is one fixed
shape of request, and under load the general client's per-request machinery
(request and header models, the connection pool's bookkeeping, a readability check
and two socket writes per request) was the largest part of the delivery worker's
CPU, which on a small machine comes straight off the services. This client writes
each request in one call, reads the status line and headers, and reads (and
discards) at most ``MAX_RESPONSE_BYTES`` of the body.

What it keeps from the guarded httpx client it replaces: connections go only to
checked addresses (TLS still verifies the certificate against the URL's host name,
sent as SNI); redirects are not followed (a 3xx is an answer like any other); no
proxy from the environment; the time limit is the caller's, around the whole
attempt.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from otog_registry.webhooks.ssrf import TargetPolicy, checked_addresses

# Enough of a receiver's answer to finish the exchange; the rest is not read (and
# the connection, not read to its end, is closed).
MAX_RESPONSE_BYTES = 64 * 1024
# A kept-alive connection idle longer than this is closed rather than reused: the
# receiver may have closed it meanwhile (httpx's default is the same).
KEEPALIVE_SECONDS = 5.0


class DeliveryFailed(Exception):
    """The exchange failed (connection, protocol): the delivery is tried again."""


@dataclass(frozen=True)
class Answer:
    status: int
    # Lower-case names.
    headers: Mapping[str, str]


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def usable(self) -> bool:
        return (
            not self.reader.at_eof()
            and not self.writer.is_closing()
            and time.monotonic() - self.idle_since < KEEPALIVE_SECONDS
        )

    def close(self) -> None:
        self.writer.close()


Origin = tuple[str, str, int]


class DeliveryClient:
    def __init__(self, policy: TargetPolicy, *, max_idle: int) -> None:
        self.policy = policy
        self.max_idle = max_idle
        self._idle: dict[Origin, list[_Connection]] = {}
        self._idle_count = 0
        self._tls = ssl.create_default_context()

    async def post(self, url: httpx.URL, headers: Mapping[str, str], body: bytes) -> Answer:
        """POST ``body`` to ``url`` (already checked with ``check_target``)."""
        port = url.port or (443 if url.scheme == "https" else 80)
        origin = (url.scheme, url.host, port)
        host = url.raw_host.decode("ascii")
        if ":" in host:
            host = f"[{host}]"  # an IPv6 literal
        if url.port is not None:
            host = f"{host}:{url.port}"
        head = [f"POST {url.raw_path.decode('ascii')} HTTP/1.1\r\nhost: {host}\r\n"]
        head += [f"{name}: {value}\r\n" for name, value in headers.items()]
        head.append(f"content-length: {len(body)}\r\n\r\n")
        request = "".join(head).encode("latin-1") + body
        conn = self._take(origin)
        if conn is not None:
            try:
                return await self._exchange(origin, conn, request)
            except _Stale:
                pass  # the receiver had closed it: once more, on a new connection
        conn = await self._connect(origin)
        try:
            return await self._exchange(origin, conn, request)
        except _Stale as exc:
            raise DeliveryFailed("the connection closed before an answer") from exc

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
        self._idle_count = 0

    def _take(self, origin: Origin) -> _Connection | None:
        conns = self._idle.get(origin)
        while conns:
            conn = conns.pop()
            self._idle_count -= 1
            if conn.usable():
                return conn
            conn.close()
        return None

    def _give_back(self, origin: Origin, conn: _Connection) -> None:
        if self._idle_count >= self.max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        self._idle.setdefault(origin, []).append(conn)
        self._idle_count += 1

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        addresses = await checked_addresses(host, port, self.policy, loopback_only=scheme == "http")
        failure: OSError | None = None
        for ip in addresses:
            try:
                reader, writer = await asyncio.open_connection(
                    str(ip),
                    port,
                    ssl=self._tls if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None,
                    limit=MAX_RESPONSE_BYTES,
                )
            except OSError as exc:
                failure = exc
                continue
            return _Connection(reader, writer)
        raise DeliveryFailed(f"cannot connect: {failure}")

    async def _exchange(self, origin: Origin, conn: _Connection, request: bytes) -> Answer:
        """One request and its answer; the connection goes back to the idle ones
        when the answer was read whole and the receiver keeps it open."""
        keep = False
        started = False
        try:
            conn.writer.write(request)
            await conn.writer.drain()
            while True:
                line = await conn.reader.readuntil(b"\r\n")
                started = True
                version, status = _status_line(line)
                headers = await _headers(conn.reader)
                if status >= 200 or status == 101:
                    break
                # 1xx interim answers (a 100 Continue we did not ask for): the
                # final answer follows.
            keep = await _skip_body(conn.reader, status, headers)
            keep = keep and version == b"HTTP/1.1" and "close" not in headers.get("connection", "")
            return Answer(status, headers)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            if not started:
                raise _Stale from exc
            raise DeliveryFailed(f"the answer was cut short: {type(exc).__name__}") from exc
        except (asyncio.LimitOverrunError, ValueError) as exc:
            raise DeliveryFailed("the answer is not HTTP/1.1") from exc
        except OSError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        finally:
            if keep:
                self._give_back(origin, conn)
            else:
                conn.close()


class _Stale(Exception):
    """The connection closed before any answer: a kept-alive one the receiver closed."""


def _status_line(line: bytes) -> tuple[bytes, int]:
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3:
        raise ValueError("not a status line")
    return parts[0], int(parts[1])


async def _headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    size = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        if line == b"\r\n":
            return headers
        size += len(line)
        if size > MAX_RESPONSE_BYTES:
            raise ValueError("headers too large")
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError("not a header line")
        key = name.strip().lower().decode("latin-1")
        text = value.strip().decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text


async def _skip_body(reader: asyncio.StreamReader, status: int, headers: Mapping[str, str]) -> bool:
    """Read past the body, at most MAX_RESPONSE_BYTES of it; whether the connection
    can carry another request (the body was read to its end)."""
    if status in (204, 304) or 100 <= status < 200:
        return True
    if "chunked" in headers.get("transfer-encoding", "").lower():
        read = 0
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
            if size == 0:
                # Trailers, if any, then the blank line.
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return True
            read += size
            if read > MAX_RESPONSE_BYTES:
                return False
            await reader.readexactly(size + 2)
    length = headers.get("content-length")
    if length is None:
        # Delimited by the connection's end: read what we allow, never reuse it.
        read = 0
        while read < MAX_RESPONSE_BYTES:
            chunk = await reader.read(MAX_RESPONSE_BYTES - read)
            if not chunk:
                break
            read += len(chunk)
        return False
    size = int(length)
    if size > MAX_RESPONSE_BYTES:
        return False
    await reader.readexactly(size)
    return True
