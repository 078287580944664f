"""uvicorn's own answers to requests it cannot parse are problem+json, for both of its
HTTP implementations (the services run httptools; h11 is what uvicorn falls back to)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from otog_devstack.postgres import free_port
from otog_shared.protocol import ProblemH11Protocol, ProblemHttpToolsProtocol
from starlette.types import Receive, Scope, Send

from tests.support.raw_http import RawResponse, exchange, read_response, request_head

PROTOCOLS = {"httptools": ProblemHttpToolsProtocol, "h11": ProblemH11Protocol}
# Bytes each parser refuses in a header value. h11 takes any byte but NUL and
# whitespace other than SP and HTAB (so \x01 reaches the app, which answers it).
REFUSED = {
    "httptools": [b"\x00", b"\x01", b"\x08", b"\x0b", b"\x1f", b"\x7f"],
    "h11": [b"\x00", b"\x0b", b"\x0c"],
}


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(scope="module", params=sorted(PROTOCOLS))
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    """A real uvicorn server on a socket, with the protocol class the services use."""
    config = uvicorn.Config(
        _app,
        host="127.0.0.1",
        port=free_port(),
        http=PROTOCOLS[request.param],
        lifespan="off",
        log_level="critical",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield config.port
    finally:
        server.should_exit = True
        thread.join(10)


def _assert_problem(r: RawResponse, status: int, slug: str) -> dict[str, object]:
    assert r.status == status, (r.status, r.body)
    assert r.header("content-type") == "application/problem+json"
    assert r.header("connection") == "close"
    body: dict[str, object] = r.json()
    assert body["type"] == f"/problems/{slug}" and body["status"] == status
    assert body["title"] and body["detail"]
    assert body["request_id"] == r.header("x-request-id")
    return body


def _implementation(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["port"])


def test_control_character_in_a_header_value(port: int, request: pytest.FixtureRequest) -> None:
    if _implementation(request) == "h11":
        pytest.skip("h11 passes \\x01 on to the app")
    r = exchange(
        port,
        request_head(headers=[(b"X-Request-ID", b"probe-1"), (b"If-Match", b'"\x01secret-etag"')]),
    )
    body = _assert_problem(r, 400, "bad-request")
    assert body["request_id"] == "probe-1"
    assert b"secret-etag" not in r.body and b"\x01" not in r.body


def test_every_refused_byte(port: int, request: pytest.FixtureRequest) -> None:
    for bad in REFUSED[_implementation(request)]:
        r = exchange(port, request_head(headers=[(b"X-Note", b"a" + bad + b"b")]))
        body = _assert_problem(r, 400, "bad-request")
        # No id given: a new one, the same in the header and the body.
        assert len(str(body["request_id"])) == 32, bad


def test_an_unsafe_request_id_is_replaced(port: int) -> None:
    r = exchange(port, request_head(headers=[(b"X-Request-ID", b"<script>"), (b"X-Note", b"\x0b")]))
    body = _assert_problem(r, 400, "bad-request")
    assert body["request_id"] != "<script>" and b"script" not in r.body


@pytest.mark.parametrize("second_id", [b"second", None])
def test_the_id_is_the_refused_requests_on_a_kept_alive_connection(
    port: int, second_id: bytes | None
) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request_head(headers=[(b"X-Request-ID", b"first")]))
        ok = read_response(sock)
        assert ok.status == 200 and ok.body == b"ok"
        headers = [(b"X-Request-ID", second_id)] if second_id else []
        sock.sendall(request_head(headers=[*headers, (b"X-Note", b"\x0b")]))
        body = _assert_problem(read_response(sock), 400, "bad-request")
    if second_id:
        assert body["request_id"] == second_id.decode()
    else:  # a new one, not the previous request's
        assert body["request_id"] != "first" and len(str(body["request_id"])) == 32


def test_a_malformed_request_line(port: int) -> None:
    _assert_problem(exchange(port, b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n"), 400, "bad-request")


def test_an_oversized_head_with_h11_is_431(port: int, request: pytest.FixtureRequest) -> None:
    if _implementation(request) != "h11":
        pytest.skip("llhttp (httptools) sets no limit on the head; nginx does")
    head = request_head(headers=[(b"X-Request-ID", b"big-1"), (b"X-Big", b"a" * 20_000)])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # h11 measures a head while it is incomplete: send all but its end first.
        sock.sendall(head[:-2])
        body = _assert_problem(read_response(sock), 431, "request-header-fields-too-large")
    assert body["request_id"] == "big-1"
