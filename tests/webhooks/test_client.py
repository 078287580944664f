"""The deliveries' HTTP client against real sockets on loopback: connections only to
checked addresses, redirects answered rather than followed, kept-alive connections
reused (and replaced when the receiver closed them), answers of every framing read
or given up on at the limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from otog_registry.webhooks.client import MAX_RESPONSE_BYTES, DeliveryClient
from otog_registry.webhooks.ssrf import TargetPolicy, TargetRefused

# What the test server answers to the n-th request (0-based) on any connection, and
# whether it then closes that connection.
Answerer = Callable[[int], tuple[bytes, bool]]


class Server:
    def __init__(self, answer: Answerer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[tuple[bytes, dict[str, str], bytes]] = []
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                headers = {
                    k.strip().lower().decode(): v.strip().decode()
                    for k, _, v in (line.partition(b":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((lines[0], headers, body))
                raw, close = self.answer(len(self.requests) - 1)
                writer.write(raw)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(answer: Answerer) -> AsyncIterator[Server]:
    server = Server(answer)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()


NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"
LOOPBACK = TargetPolicy(allow_loopback=True)


def url(port: int, host: str = "127.0.0.1") -> httpx.URL:
    return httpx.URL(f"http://{host}:{port}/hooks/otog?x=1")


async def test_a_request_is_sent_whole_and_its_connection_kept() -> None:
    async with serving(lambda _n: (NO_CONTENT, False)) as server:
        client = DeliveryClient(LOOPBACK, max_idle=4)
        try:
            for i in range(3):
                answer = await client.post(url(server.port), {"webhook-id": f"e{i}"}, b'{"a":1}')
                assert answer.status == 204
        finally:
            await client.aclose()
    assert server.connections == 1
    first, headers, body = server.requests[0]
    assert first == b"POST /hooks/otog?x=1 HTTP/1.1"
    assert headers["host"] == f"127.0.0.1:{server.port}"
    assert headers["webhook-id"] == "e0"
    assert body == b'{"a":1}'


async def test_redirects_are_answers_and_are_not_followed() -> None:
    async with serving(lambda _n: (NO_CONTENT, False)) as elsewhere:
        moved = (
            f"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{elsewhere.port}/"
            "\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        async with serving(lambda _n: (moved, False)) as server:
            client = DeliveryClient(LOOPBACK, max_idle=4)
            try:
                answer = await client.post(url(server.port), {}, b"{}")
            finally:
                await client.aclose()
    assert answer.status == 307
    assert elsewhere.requests == []


async def test_connections_go_only_to_checked_addresses() -> None:
    async with serving(lambda _n: (NO_CONTENT, False)) as server:
        # A name pinned to loopback is connected to at that address...
        pinned = TargetPolicy.of(True, {"receiver.example": ["127.0.0.1"]})
        client = DeliveryClient(pinned, max_idle=4)
        try:
            answer = await client.post(url(server.port, "receiver.example"), {}, b"{}")
            assert answer.status == 204
            assert server.requests[0][1]["host"] == f"receiver.example:{server.port}"
        finally:
            await client.aclose()
        # ...and one that resolves to a private address is refused before any connection.
        rebound = TargetPolicy.of(True, {"receiver.example": ["10.20.30.40"]})
        client = DeliveryClient(rebound, max_idle=4)
        try:
            with pytest.raises(TargetRefused, match="private"):
                await client.post(url(server.port, "receiver.example"), {}, b"{}")
        finally:
            await client.aclose()
        # Plain http goes to loopback only, and loopback only where it is allowed.
        client = DeliveryClient(TargetPolicy(allow_loopback=False), max_idle=4)
        try:
            with pytest.raises(TargetRefused, match="loopback"):
                await client.post(url(server.port), {}, b"{}")
        finally:
            await client.aclose()
    assert server.connections == 1


async def test_answers_of_every_framing() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    retry = b"HTTP/1.1 503 Busy\r\nRetry-After: 120\r\nContent-Length: 4\r\n\r\nbusy"
    big = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (MAX_RESPONSE_BYTES + 1) + b"x" * (
        MAX_RESPONSE_BYTES + 1
    )
    answers = [(b"HTTP/1.1 100 Continue\r\n\r\n" + NO_CONTENT, False), (chunked, False)]
    answers += [(retry, False), (big, False), (NO_CONTENT, False)]
    async with serving(lambda n: answers[n]) as server:
        client = DeliveryClient(LOOPBACK, max_idle=4)
        try:
            statuses = []
            for _ in answers:
                answer = await client.post(url(server.port), {}, b"{}")
                statuses.append(answer.status)
                if answer.status == 503:
                    assert answer.headers["retry-after"] == "120"
        finally:
            await client.aclose()
    assert statuses == [204, 200, 503, 200, 204]
    # The body over the limit was not read: that connection was dropped, not reused.
    assert server.connections == 2


async def test_a_kept_alive_connection_the_receiver_closed_is_replaced() -> None:
    async with serving(lambda _n: (NO_CONTENT, True)) as server:
        client = DeliveryClient(LOOPBACK, max_idle=4)
        try:
            for _ in range(3):
                assert (await client.post(url(server.port), {}, b"{}")).status == 204
                # Let the receiver's close arrive before the next request.
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()
    assert server.connections == 3
    assert len(server.requests) == 3
