"""HTTP/1.1 over a plain socket, for requests no HTTP client would send."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.header_list(name)
        assert len(values) <= 1, f"{name} repeated: {values}"
        return values[0] if values else None

    def header_list(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


def read_response(sock: socket.socket) -> RawResponse:
    """One response: the head, then Content-Length bytes (or all until the peer closes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a complete response head: {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, status, *_ = status_line.split(" ", 2)
    assert version.startswith("HTTP/1."), status_line
    headers = [(k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in lines)]
    length = next((int(v) for k, v in headers if k.lower() == "content-length"), None)
    while length is None or len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return RawResponse(int(status), headers, body if length is None else body[:length])


def exchange(port: int, raw: bytes, timeout: float = 10.0) -> RawResponse:
    """Send ``raw`` on a new connection to 127.0.0.1 and read one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        return read_response(sock)


def request_head(
    method: str = "GET",
    target: str = "/v1/health",
    headers: list[tuple[bytes, bytes]] | None = None,
    version: bytes = b"HTTP/1.1",
    host: bytes | None = b"127.0.0.1",
) -> bytes:
    lines = [method.encode() + b" " + target.encode() + b" " + version]
    if host is not None:
        lines.append(b"Host: " + host)
    lines += [name + b": " + value for name, value in headers or []]
    return b"\r\n".join(lines) + b"\r\n\r\n"
