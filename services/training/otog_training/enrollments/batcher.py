"""Bookings of one session coalesced into one transaction per process.

Every booking of a session needs the session's row lock, and the lock is held
until the commit: booked one per transaction, a rush on a session commits one
booking at a time, and each waits for the one before it to finish its round trips
and its commit. Here the bookings of a session that arrive while a batch is being
booked wait in a queue; when that batch has committed, the oldest of them books
the whole queue (up to ``limit``) in one transaction: one lock, one statement, one
commit for all of them, and each request is answered with its own outcome.

The batch runs in the transaction of its first member's own request (its
connection): a batch never needs a connection beyond those its members already
hold, so no number of waiting members can starve it of one. The others' requests
keep their own transactions open (and the locks they took on their
Idempotency-Key and client-chosen id) until the batch has committed and they have
their outcome.

Order: within a process, bookings of a session are seated in the order they joined
the queue (when their checks had finished); across processes, batches (and
single bookings) take the session's row lock one after another, in the order
PostgreSQL grants it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from otog_shared.dbfaults import Fault, classify
from otog_shared.metrics import counter

log = logging.getLogger("otog.training.bookings")

BATCHES = counter(
    "otog_training_booking_batches_total",
    "Batches of bookings of one session, by outcome: committed together, or failed as "
    "a whole (each member then booked alone). Bookings per batch: "
    "otog_training_bookings_total over the committed ones.",
    ("outcome",),
)

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Lead:
    """The member is the oldest in the queue and books the next batch."""


class _Alone:
    """The batch failed as a whole: the member books alone, in its own transaction."""


LEAD = _Lead()
ALONE = _Alone()

# Books a batch in the session of the member that calls it (the first), without
# committing; one outcome per item, in order: the value, or the problem to raise.
BookBatch = Callable[[Sequence[Item]], Awaitable[Sequence[Result | Exception]]]


@dataclass(eq=False)
class _Member(Generic[Item, Result]):
    item: Item
    # Commits the member's own transaction (where its batch runs when it leads).
    commit: Callable[[], Awaitable[None]]
    future: asyncio.Future[Result | Exception | _Lead | _Alone] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class SeatBatcher(Generic[Item, Result]):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._queues: dict[uuid.UUID, deque[_Member[Item, Result]]] = {}

    async def book(
        self,
        key: uuid.UUID,
        item: Item,
        commit: Callable[[], Awaitable[None]],
        book_batch: BookBatch[Item, Result],
        book_alone: Callable[[], Awaitable[Result]],
    ) -> Result:
        """``item``'s outcome, booked in a batch with whatever else of ``key`` is
        queued in this process (``book_alone`` when the batch failed as a whole).
        ``book_batch`` books in the caller's transaction, which ``commit`` commits."""
        member: _Member[Item, Result] = _Member(item, commit)
        queue = self._queues.setdefault(key, deque())
        queue.append(member)
        if len(queue) == 1:
            # Nobody is booking this session in this process: lead at once.
            signal: Result | Exception | _Lead | _Alone = LEAD
        else:
            try:
                signal = await member.future
            except asyncio.CancelledError:
                self._leave(key, member)
                raise
        if isinstance(signal, _Lead):
            return await self._lead(key, member, book_batch, book_alone)
        if isinstance(signal, _Alone):
            return await book_alone()
        if isinstance(signal, Exception):
            raise signal
        return signal

    def _leave(self, key: uuid.UUID, member: _Member[Item, Result]) -> None:
        """A member's request went away while it waited."""
        queue = self._queues.get(key)
        if queue is not None and member in queue:
            queue.remove(member)
            if not queue:
                del self._queues[key]
                return
        future = member.future
        if future.done() and not future.cancelled() and isinstance(future.result(), _Lead):
            # Made the leader just before it went: the next one leads instead.
            self._hand_over(key)

    def _hand_over(self, key: uuid.UUID) -> None:
        """The oldest member still waiting leads the next batch."""
        queue = self._queues.get(key)
        while queue:
            head = queue[0]
            if not head.future.done():
                head.future.set_result(LEAD)
                return
            queue.popleft()
        self._queues.pop(key, None)

    async def _lead(
        self,
        key: uuid.UUID,
        me: _Member[Item, Result],
        book_batch: BookBatch[Item, Result],
        book_alone: Callable[[], Awaitable[Result]],
    ) -> Result:
        queue = self._queues[key]
        # The leader is the oldest member: first in the queue and in its batch. It
        # stays at the head while it books, so newcomers see a leader at work.
        batch = [me]
        while len(queue) > 1 and len(batch) < self.limit:
            taken = queue[1]
            del queue[1]
            if not taken.future.done():  # else its request went away meanwhile
                batch.append(taken)
        others = batch[1:]
        failed = False
        lost: Exception | None = None
        try:
            try:
                outcomes = await book_batch([m.item for m in batch])
            except Exception as exc:
                # Nothing of the batch is left in the leader's transaction (it rolled
                # back to its savepoint): everyone books alone, as without batching.
                log.exception("a batch of %d bookings failed; each is booked alone", len(batch))
                BATCHES.labels(outcome="fallback").inc()
                failed = True
                diagnosis = classify(exc)
                if diagnosis is not None and diagnosis.fault is Fault.UNAVAILABLE:
                    # The database went away under the batch: the leader's
                    # transaction went with it, so the leader answers with that
                    # (503), and the others try alone on their own connections.
                    lost = exc
            else:
                # If the commit fails, the leader's transaction is gone with its own
                # locks: it answers with the failure, the others book alone.
                await me.commit()
        except BaseException:
            failed = True
            raise
        finally:
            if failed:
                self._tell(others, ALONE)
            # The next batch need not wait for anyone booking alone.
            self._retire(key, me)
        if lost is not None:
            raise lost
        if failed:
            return await book_alone()
        BATCHES.labels(outcome="committed").inc()
        for member, outcome in zip(others, outcomes[1:], strict=True):
            if not member.future.done():
                member.future.set_result(outcome)
        mine = outcomes[0]
        if isinstance(mine, Exception):
            raise mine
        return mine

    @staticmethod
    def _tell(members: list[_Member[Item, Result]], signal: _Alone) -> None:
        for member in members:
            if not member.future.done():
                member.future.set_result(signal)

    def _retire(self, key: uuid.UUID, me: _Member[Item, Result]) -> None:
        """The leader is done: it leaves the head of the queue to the next one."""
        queue = self._queues.get(key)
        if queue and queue[0] is me:
            queue.popleft()
        self._hand_over(key)
