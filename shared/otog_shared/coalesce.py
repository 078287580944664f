"""Lookups by key that concurrent requests share: one call to another service
answers many of them.

A seat rush asks the registry about a different worker in every request. Asked
one by one, each request pays a whole service-to-service round trip (the client's
connection pool, the other service's request handling, its transaction), and that
CPU, not the database, set the pace. Here a lookup that arrives while a call is
under way waits for the next call, which carries every key that queued
meanwhile: under load the calls grow and their number falls; alone, a lookup
goes out at once and waits for nothing.

The answer is as fresh as the call that carries it: nothing is cached between calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

from otog_shared.metrics import counter

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")

# Answers the keys it is given: the value of each key it knows; a key it leaves
# out has none. An exception fails every lookup of the call.
FetchMany = Callable[[list[Key]], Awaitable[Mapping[Key, Value]]]


LOOKUPS = counter(
    "otog_coalesced_lookups_total",
    "Lookups by key answered by shared calls, by what was looked up.",
    ("lookup",),
)
CALLS = counter(
    "otog_coalesced_calls_total",
    "Calls made for those lookups, by what was looked up and outcome (ok or failed).",
    ("lookup", "outcome"),
)


class Coalescer(Generic[Key, Value]):
    def __init__(
        self,
        name: str,
        fetch_many: FetchMany[Key, Value],
        *,
        max_keys: int,
        max_calls: int = 1,
    ) -> None:
        self.name = name
        self.fetch_many = fetch_many
        self.max_keys = max_keys
        self.max_calls = max_calls
        self._waiting: dict[Key, list[asyncio.Future[Value | None]]] = {}
        self._calls: set[asyncio.Task[None]] = set()

    async def get(self, key: Key) -> Value | None:
        """``key``'s value, or None when the other side has none."""
        future: asyncio.Future[Value | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        LOOKUPS.labels(lookup=self.name).inc()
        self._start_calls()
        # A request that goes away while it waits leaves the call to the others.
        return await future

    def _start_calls(self) -> None:
        while self._waiting and len(self._calls) < self.max_calls:
            keys = list(self._waiting)[: self.max_keys]
            futures = {key: self._waiting.pop(key) for key in keys}
            # A task of its own: the call belongs to every waiter, not to the
            # request that happened to start it, and survives that one's cancellation.
            task = asyncio.get_running_loop().create_task(self._call(futures))
            self._calls.add(task)
            task.add_done_callback(self._call_done)

    def _call_done(self, task: asyncio.Task[None]) -> None:
        self._calls.discard(task)
        self._start_calls()

    async def _call(self, futures: dict[Key, list[asyncio.Future[Value | None]]]) -> None:
        try:
            found = await self.fetch_many(list(futures))
        except asyncio.CancelledError:
            # The process is stopping.
            for waiting in futures.values():
                for future in waiting:
                    future.cancel()
            raise
        except Exception as exc:
            CALLS.labels(lookup=self.name, outcome="failed").inc()
            for waiting in futures.values():
                for future in waiting:
                    if not future.done():
                        future.set_exception(exc)
            return
        CALLS.labels(lookup=self.name, outcome="ok").inc()
        for key, waiting in futures.items():
            value = found.get(key)
            for future in waiting:
                if not future.done():
                    future.set_result(value)
