# ruff: noqa: ASYNC109
"""A small HTTP/1.1 load generator on asyncio streams (uvloop when present).

Why not httpx: at a few thousand requests a second its own CPU use would
compete with the services on a 2-core machine. This client writes pre-built
request bytes on keep-alive connections and parses only the status line, the
headers it needs and a Content-Length (or chunked) body, so its cost per request
is tens of microseconds; the process's own CPU time is measured and reported
next to every scenario.

Every run is bounded: a fixed list of requests, ``concurrency`` connections to
127.0.0.1 only, a per-request timeout and an overall deadline.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TIMEOUT = 60.0


@dataclass
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Sent this many times in a row on one connection (a client's retry of the
    # same request after it got the first answer); each send is one sample.
    repeat: int = 1
    tag: str = ""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    latency: float  # seconds


@dataclass
class Sample:
    index: int
    attempt: int
    status: int  # 0: transport error or timeout
    latency: float
    tag: str


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    errors: int  # transport errors and timeouts
    client_cpu_seconds: float
    concurrency: int
    samples: list[Sample]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of unsorted values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


class _Connection:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, limit=1 << 20), self.timeout
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, raw: bytes) -> Response:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        started = time.perf_counter()
        self.writer.write(raw)
        response = await asyncio.wait_for(self._read(self.reader), self.timeout)
        response.latency = time.perf_counter() - started
        if response.headers.get("connection", "").lower() == "close":
            self.close()
        return response

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Response:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(parts)
        else:
            body = b""
        return Response(status, headers, body, 0.0)


def build(host: str, port: int, req: Request, default_headers: dict[str, str]) -> bytes:
    # An empty value drops a default header (a request sent without the bench's token).
    merged = {"Host": f"{host}:{port}", **default_headers, **req.headers}
    headers = {k: v for k, v in merged.items() if v}
    if req.body or req.method in ("POST", "PUT", "PATCH"):
        headers["Content-Length"] = str(len(req.body))
    head = f"{req.method} {req.path} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    return head.encode("latin-1") + b"\r\n" + req.body


OnResponse = Callable[[int, int, Request, Response], None]


async def run(
    base_url: str,
    requests: Sequence[Request],
    *,
    concurrency: int,
    headers: dict[str, str] | None = None,
    on_response: OnResponse | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float = 1800.0,
) -> LoadResult:
    """Send ``requests`` over ``concurrency`` keep-alive connections, each
    connection taking the next request as soon as it has an answer."""
    host, port = _host_port(base_url)
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("load is only ever sent to this machine")
    default_headers = {"Accept": "application/json", **(headers or {})}
    samples: list[Sample] = []
    statuses: dict[int, int] = {}
    errors = 0
    position = 0
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    stop_at = started + deadline

    async def worker() -> None:
        nonlocal position, errors
        conn = _Connection(host, port, timeout)
        try:
            while position < len(requests) and time.perf_counter() < stop_at:
                index = position
                position += 1
                req = requests[index]
                raw = build(host, port, req, default_headers)
                for attempt in range(req.repeat):
                    t0 = time.perf_counter()
                    try:
                        resp = await conn.send(raw)
                    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                        conn.close()
                        errors += 1
                        statuses[0] = statuses.get(0, 0) + 1
                        samples.append(Sample(index, attempt, 0, time.perf_counter() - t0, req.tag))
                        continue
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
                    samples.append(Sample(index, attempt, resp.status, resp.latency, req.tag))
                    if on_response is not None:
                        on_response(index, attempt, req, resp)
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(requests))))))
    seconds = time.perf_counter() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return LoadResult(
        requests=len(samples),
        seconds=seconds,
        latencies=[s.latency for s in samples],
        statuses=statuses,
        errors=errors,
        client_cpu_seconds=cpu,
        concurrency=concurrency,
        samples=samples,
    )


def _host_port(base_url: str) -> tuple[str, int]:
    rest = base_url.split("://", 1)[1].rstrip("/")
    host, _, port = rest.rpartition(":")
    return host.strip("[]"), int(port)


async def request_one(
    base_url: str, req: Request, *, headers: dict[str, str] | None = None, timeout: float = 900.0
) -> Response:
    """One request on its own connection (set-up calls, big uploads)."""
    host, port = _host_port(base_url)
    conn = _Connection(host, port, timeout)
    try:
        return await conn.send(
            build(host, port, req, {"Accept": "application/json", **(headers or {})})
        )
    finally:
        conn.close()


def json_body(value: Any) -> bytes:
    import orjson

    return orjson.dumps(value)
