"""Every error the gateway or a service's HTTP server makes itself is problem+json.

Broken requests go over raw sockets (HTTP clients refuse to send them) to the real
nginx in front of the real services."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import Stack
from tests.support.raw_http import RawResponse, exchange, request_head
from tests.support.tokens import TokenFactory

pytestmark = pytest.mark.e2e

H = b"Host: 127.0.0.1\r\n"
TLS_CLIENT_HELLO = bytes.fromhex("160301020001000001fc0303") + bytes(40)
# nginx's large_client_header_buffers: 4 buffers of 8 KiB, one line per buffer at most.
BIG = b"a" * 9000

# (request, status, problem slug): what nginx answers itself.
NGINX_ERRORS = {
    "header line too large": (
        request_head(headers=[(b"X-Big", BIG)]),
        431,
        "request-header-fields-too-large",
    ),
    "cookie too large": (
        request_head(headers=[(b"Cookie", b"session=" + BIG)]),
        431,
        "request-header-fields-too-large",
    ),
    "header section too large": (
        request_head(headers=[(b"X-Part-%d" % i, b"b" * 7000) for i in range(6)]),
        431,
        "request-header-fields-too-large",
    ),
    "URI too long": (request_head(target="/v1/provinces?q=" + "a" * 9000), 414, "uri-too-long"),
    "request line with an extra token": (
        b"GET / HTTP/1.1 extra\r\n" + H + b"\r\n",
        400,
        "bad-request",
    ),
    "lower-case method": (b"get /v1/health HTTP/1.1\r\n" + H + b"\r\n", 400, "bad-request"),
    "method with a digit": (b"G3T /v1/health HTTP/1.1\r\n" + H + b"\r\n", 400, "bad-request"),
    "CONNECT": (b"CONNECT example.com:443 HTTP/1.1\r\n" + H + b"\r\n", 400, "bad-request"),
    "path above the root": (request_head(target="/v1/../../etc/passwd"), 400, "bad-request"),
    "encoded NUL in the path": (request_head(target="/v1/%00"), 400, "bad-request"),
    "invalid Host": (request_head(host=b"api..example"), 400, "bad-request"),
    "Host with a slash": (request_head(host=b"a/b"), 400, "bad-request"),
    "no Host": (request_head(host=None), 400, "bad-request"),
    "two Hosts": (request_head(headers=[(b"Host", b"other")]), 400, "bad-request"),
    "NUL in a header value": (request_head(headers=[(b"X-Note", b"a\x00b")]), 400, "bad-request"),
    "space in a header name": (request_head(headers=[(b"X Note", b"a")]), 400, "bad-request"),
    "folded header line": (
        b"GET /v1/health HTTP/1.1\r\n" + H + b" folded\r\n\r\n",
        400,
        "bad-request",
    ),
    "invalid Content-Length": (
        request_head("POST", "/v1/groups", [(b"Content-Length", b"ten")]),
        400,
        "bad-request",
    ),
    "two Content-Lengths": (
        request_head("POST", "/v1/groups", [(b"Content-Length", b"1"), (b"Content-Length", b"2")]),
        400,
        "bad-request",
    ),
    "Content-Length and Transfer-Encoding": (
        request_head(
            "POST", "/v1/groups", [(b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"3")]
        )
        + b"abc",
        400,
        "bad-request",
    ),
    "Transfer-Encoding on HTTP/1.0": (
        request_head("POST", "/v1/groups", [(b"Transfer-Encoding", b"chunked")], b"HTTP/1.0"),
        400,
        "bad-request",
    ),
    "broken chunked body to a service": (
        request_head("POST", "/v1/groups", [(b"Transfer-Encoding", b"chunked")]) + b"zz\r\n",
        400,
        "bad-request",
    ),
    "broken chunked body to the streamed import": (
        request_head("POST", "/v1/workers/import", [(b"Transfer-Encoding", b"chunked")])
        + b"zz\r\n",
        400,
        "bad-request",
    ),
    # nginx is already answering 404 when it finds the body broken: a second error.
    "broken chunked body to no route": (
        request_head("POST", "/v1/nowhere", [(b"Transfer-Encoding", b"chunked")]) + b"zz\r\n",
        400,
        "bad-request",
    ),
    "HTTP/2 preface on the HTTP/1 port": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "bad-request"),
    "TLS handshake on the plain port": (TLS_CLIENT_HELLO, 400, "bad-request"),
    "HTTP/3.0": (request_head(version=b"HTTP/3.0"), 505, "http-version-not-supported"),
    "unknown Transfer-Encoding": (
        request_head("POST", "/v1/groups", [(b"Transfer-Encoding", b"gzip")]),
        501,
        "not-implemented",
    ),
    "TRACE": (request_head("TRACE"), 405, "method-not-allowed"),
    "If-Match on the OpenAPI document": (
        request_head(target="/v1/openapi.json", headers=[(b"If-Match", b'"other"')]),
        412,
        "precondition-failed",
    ),
    "If-Unmodified-Since on the OpenAPI document": (
        request_head(
            target="/v1/openapi.json",
            headers=[(b"If-Unmodified-Since", b"Mon, 01 Jan 1990 00:00:00 GMT")],
        ),
        412,
        "precondition-failed",
    ),
    "an internal error page asked for directly": (
        request_head(target="/_gateway/bad-request"),
        404,
        "not-found",
    ),
}


def _port(stack: Stack) -> int:
    port = urlsplit(stack.gateway_url).port
    assert port is not None
    return port


def _assert_problem(r: RawResponse, status: int, slug: str) -> dict[str, object]:
    assert r.status == status, (r.status, r.body[:300])
    assert (r.header("content-type") or "").startswith("application/problem+json"), r.body[:300]
    body: dict[str, object] = r.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    request_id = r.header("x-request-id")
    assert request_id and body["request_id"] == request_id
    return body


@pytest.mark.parametrize("case", sorted(NGINX_ERRORS))
def test_nginx_answers_problems(live_stack: Stack, case: str) -> None:
    raw, status, slug = NGINX_ERRORS[case]
    _assert_problem(exchange(_port(live_stack), raw), status, slug)


def test_a_callers_request_id_is_kept_on_nginx_errors(live_stack: Stack) -> None:
    raw = request_head(headers=[(b"X-Request-ID", b"partner-431"), (b"Cookie", BIG)])
    body = _assert_problem(exchange(_port(live_stack), raw), 431, "request-header-fields-too-large")
    assert body["request_id"] == "partner-431"


def test_a_head_request_gets_the_problem_headers_only(live_stack: Stack) -> None:
    r = exchange(_port(live_stack), request_head("HEAD", host=b"api..example"))
    assert r.status == 400
    assert (r.header("content-type") or "").startswith("application/problem+json")
    assert r.header("x-request-id") and r.body == b""


SERVICE_PATHS = {"registry": "/v1/provinces", "training": "/v1/courses", "loan-ledger": "/v1/funds"}


@pytest.mark.parametrize("service", sorted(SERVICE_PATHS))
@pytest.mark.parametrize("bad", [b"\x01", b"\x1f", b"\x7f"])
def test_control_characters_nginx_passes_get_a_problem_from_each_service(
    live_stack: Stack, service: str, bad: bytes
) -> None:
    """nginx forwards header values with control characters; each service's uvicorn
    refuses them, with problem+json and the request id nginx sent it."""
    raw = request_head(
        target=SERVICE_PATHS[service],
        headers=[(b"If-Match", b'"' + bad + b'etag-probe"')],
    )
    r = exchange(_port(live_stack), raw)
    _assert_problem(r, 400, "bad-request")
    assert b"etag-probe" not in r.body and bad not in r.body


def test_the_callers_request_id_reaches_the_services_problem(live_stack: Stack) -> None:
    raw = request_head(
        target="/v1/funds", headers=[(b"X-Request-ID", b"partner-ctl-1"), (b"X-Note", b"\x01")]
    )
    body = _assert_problem(exchange(_port(live_stack), raw), 400, "bad-request")
    assert body["request_id"] == "partner-ctl-1"


def test_a_range_gets_the_whole_document(live_stack: Stack) -> None:
    """No 416 from nginx: it would carry the document's headers twice."""
    raw = request_head(target="/v1/openapi.json", headers=[(b"Range", b"bytes=99999999-")])
    r = exchange(_port(live_stack), raw)
    assert r.status == 200 and r.json()["openapi"].startswith("3.1")
    assert r.header("x-request-id")  # exactly once


def test_the_access_log_keeps_the_path_of_a_refused_request(
    live_stack: Stack, log_dir: Path
) -> None:
    rid = f"log-probe-{uuid.uuid4().hex[:8]}"
    raw = request_head(
        "POST",
        "/v1/groups",
        [(b"X-Request-ID", rid.encode()), (b"Transfer-Encoding", b"chunked")],
    )
    _assert_problem(exchange(_port(live_stack), raw + b"zz\r\n"), 400, "bad-request")
    log = log_dir / "gateway-access.log"
    deadline = time.monotonic() + 5
    while True:
        lines = [json.loads(line) for line in log.read_text().splitlines() if rid in line]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [(e["method"], e["path"], e["status"]) for e in lines] == [("POST", "/v1/groups", 400)]


def test_services_problems_pass_through_unchanged(live_stack: Stack, tokens: TokenFactory) -> None:
    """Statuses the gateway has pages for (400, 404, 405) still carry the service's own
    body when a service answers them; so do 422s with their field errors."""
    with httpx.Client(base_url=live_stack.gateway_url, timeout=10) as gw:
        write = tokens.headers("registry:write", "registry:read")
        invalid = gw.post("/v1/groups", json={"name_th": ""}, headers=write)
        assert invalid.status_code == 422
        assert invalid.headers["content-type"].startswith("application/problem+json")
        errors = invalid.json()["errors"]
        assert {"field", "message"} <= set(errors[0]) and len(errors) >= 2

        malformed = gw.post(
            "/v1/groups", content=b"{", headers={**write, "Content-Type": "application/json"}
        )
        assert malformed.status_code == 400
        assert malformed.json()["detail"] == "The request body is not valid JSON."

        missing = gw.get(f"/v1/groups/{uuid.uuid4()}", headers=write)
        assert missing.status_code == 404
        assert missing.json()["detail"] != "No resource at this path."  # not nginx's page

        method = gw.request("PUT", "/v1/provinces")
        assert method.status_code == 405
        assert method.headers["content-type"].startswith("application/problem+json")
        assert method.json()["detail"] != "This method is not allowed on this path."

        for r in (invalid, malformed, missing, method):
            assert r.json()["request_id"] == r.headers["x-request-id"]
