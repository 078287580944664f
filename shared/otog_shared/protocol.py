"""uvicorn HTTP protocols that answer a request they cannot parse with problem+json.

uvicorn refuses a request its parser rejects before any application code runs, with
a ``text/plain`` 400 of its own. nginx does not look inside most header values, so a
control character (``If-Match: "\\x01…"``) passes the gateway and is refused here.
Every service is started with ``--http otog_shared.protocol:ProblemHttpToolsProtocol``
(httptools comes with ``uvicorn[standard]``; see ``otog_devstack.processes``);
``ProblemH11Protocol`` does the same for h11. The answer is the contract's problem+json
with the request id nginx forwarded, and never echoes the offending bytes.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from otog_shared.errors import PROBLEM_MEDIA_TYPE, http_problem
from otog_shared.middleware import REQUEST_ID_HEADER, accept_request_id

_DETAILS = {
    400: "The request is not valid HTTP: its request line, a header or the body framing "
    "is malformed.",
    431: "A header field, the cookies or the header section as a whole is too large.",
}

# Through the gateway a request head is at most nginx's 4 x 8 KiB header buffers.
_HEAD_LIMIT = 64 * 1024
_RAW_REQUEST_ID = re.compile(rb"\nx-request-id:[ \t]*([^\r\n]*)", re.IGNORECASE)


def problem_response(
    status: int, request_id: str, default_headers: list[tuple[bytes, bytes]]
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body of the problem sent for a request that never reached the app."""
    body = json.dumps({**http_problem(status, _DETAILS[status]), "request_id": request_id})
    headers = [
        *default_headers,
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        # Answered before the request's headers are read: always English.
        (b"content-language", b"en"),
        (REQUEST_ID_HEADER.encode(), request_id.encode()),
        (b"connection", b"close"),
    ]
    return headers, body.encode()


def _header(headers: list[tuple[bytes, bytes]] | None, name: bytes) -> str | None:
    for key, value in headers or ():
        if key == name:
            return value.decode("latin-1")
    return None


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools (llhttp) protocol, which its ``auto`` picks and the services use."""

    def send_400_response(self, msg: str) -> None:
        # llhttp hands over each header as soon as the next one starts, and nginx
        # sends X-Request-ID before the caller's headers: it is parsed by now.
        request_id = accept_request_id(_header(self.headers, REQUEST_ID_HEADER.encode()))
        headers, body = problem_response(400, request_id, self.server_state.default_headers)
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(STATUS_LINE[400] + head + b"\r\n" + body)
        self.transport.close()


class ProblemH11Protocol(H11Protocol):
    """uvicorn's pure-Python h11 protocol (used where httptools is not installed)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head = b""
        self._head_cycle: object = None

    def data_received(self, data: bytes) -> None:
        # h11 takes a request head out of its buffer before validating it, so a
        # refused head is gone: the bytes of the head being received are kept here
        # (not bodies) to find its request id.
        if self.cycle is not self._head_cycle:
            self._head, self._head_cycle = b"", self.cycle
        if self.conn.their_state is h11.IDLE and len(self._head) < _HEAD_LIMIT:
            self._head += data
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        # Called from uvicorn's handler of h11.RemoteProtocolError, which hints 431
        # for a head larger than h11 accepts.
        error = sys.exc_info()[1]
        status = 431 if getattr(error, "error_status_hint", 400) == 431 else 400
        found = _RAW_REQUEST_ID.findall(self._head)
        request_id = accept_request_id(found[-1].strip().decode("latin-1") if found else None)
        headers, body = problem_response(status, request_id, self.server_state.default_headers)
        for event in (
            h11.Response(status_code=status, headers=headers),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()
