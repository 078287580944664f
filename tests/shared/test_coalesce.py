"""Lookups that share calls (``otog_shared.coalesce``), on their own: what a request
that arrives alone, or while a call is under way, is answered with, by how many
calls, and that neither a failed call nor a request that goes away leaves anyone
waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest
from otog_shared.coalesce import Coalescer


class Unreachable(Exception):
    pass


class Directory:
    """Answers lookups of names it knows; a call held at ``gate`` stays under way."""

    def __init__(self, known: Mapping[str, int]) -> None:
        self.known = dict(known)
        self.calls: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_next = False

    async def fetch_many(self, keys: list[str]) -> dict[str, int]:
        self.calls.append(list(keys))
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise Unreachable("the other service is down")
        return {key: self.known[key] for key in keys if key in self.known}


async def answers(*futures: asyncio.Future[int | None]) -> list[int | BaseException | None]:
    """Every answer, or a failure (not a hang) when someone is left waiting."""
    return list(await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), timeout=5))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def lookup(coalescer: Coalescer[str, int], key: str) -> asyncio.Future[int | None]:
    return asyncio.ensure_future(coalescer.get(key))


async def test_a_lookup_alone_goes_out_at_once() -> None:
    directory = Directory({"a": 1})
    coalescer = Coalescer("test", directory.fetch_many, max_keys=10)
    assert await asyncio.wait_for(coalescer.get("a"), timeout=5) == 1
    assert await asyncio.wait_for(coalescer.get("zz"), timeout=5) is None
    assert directory.calls == [["a"], ["zz"]]


async def test_lookups_arriving_during_a_call_share_the_next_one() -> None:
    directory = Directory({"a": 1, "b": 2, "c": 3})
    coalescer = Coalescer("test", directory.fetch_many, max_keys=10)
    directory.gate.clear()
    first = lookup(coalescer, "a")
    await settle()
    later = [lookup(coalescer, key) for key in ("b", "c", "b", "nobody")]
    await settle()
    # Only the first call is under way; the rest wait for it to end.
    assert directory.calls == [["a"]]
    directory.gate.set()
    assert await answers(first, *later) == [1, 2, 3, 2, None]
    # One more call, each key once in it.
    assert directory.calls == [["a"], ["b", "c", "nobody"]]


async def test_a_call_takes_at_most_max_keys() -> None:
    directory = Directory({str(n): n for n in range(7)})
    coalescer = Coalescer("test", directory.fetch_many, max_keys=3)
    directory.gate.clear()
    first = lookup(coalescer, "0")
    await settle()
    later = [lookup(coalescer, str(n)) for n in range(1, 7)]
    await settle()
    directory.gate.set()
    assert await answers(first, *later) == list(range(7))
    assert directory.calls == [["0"], ["1", "2", "3"], ["4", "5", "6"]]


async def test_a_failed_call_fails_only_its_own_lookups() -> None:
    directory = Directory({"a": 1, "b": 2})
    coalescer = Coalescer("test", directory.fetch_many, max_keys=10)
    directory.gate.clear()
    directory.fail_next = True
    failing = lookup(coalescer, "a")
    await settle()
    after = lookup(coalescer, "b")
    await settle()
    directory.gate.set()
    got = await answers(failing, after)
    assert isinstance(got[0], Unreachable)
    assert got[1] == 2
    # The next lookup of the failed key goes out again: nothing was kept.
    assert await asyncio.wait_for(coalescer.get("a"), timeout=5) == 1


async def test_a_request_that_goes_away_leaves_the_call_to_the_others() -> None:
    directory = Directory({"a": 1, "b": 2})
    coalescer = Coalescer("test", directory.fetch_many, max_keys=10)
    directory.gate.clear()
    starter = lookup(coalescer, "a")
    await settle()
    waiting = [lookup(coalescer, "b"), lookup(coalescer, "b")]
    await settle()
    # The request that started the call goes away while it is under way.
    starter.cancel()
    waiting[0].cancel()
    await settle()
    directory.gate.set()
    assert await answers(waiting[1]) == [2]
    with pytest.raises(asyncio.CancelledError):
        await starter
    assert directory.calls == [["a"], ["b"]]


async def test_several_calls_at_once_when_allowed() -> None:
    directory = Directory({"a": 1, "b": 2, "c": 3})
    coalescer = Coalescer("test", directory.fetch_many, max_keys=10, max_calls=2)
    directory.gate.clear()
    futures = [lookup(coalescer, "a")]
    await settle()
    futures.append(lookup(coalescer, "b"))
    await settle()
    futures.append(lookup(coalescer, "c"))
    await settle()
    assert directory.calls == [["a"], ["b"]]
    directory.gate.set()
    assert await answers(*futures) == [1, 2, 3]
    assert directory.calls == [["a"], ["b"], ["c"]]
