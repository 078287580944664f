"""The batcher's queue on its own (no database: what it coordinates is requests
waiting in one process): who leads, who is in which batch, in what order, and that
no request that goes away, nor a batch that fails, leaves the others waiting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest
from otog_shared.dbfaults import DatabaseUnreachable
from otog_training.enrollments.batcher import SeatBatcher

SESSION = uuid.uuid4()


class Refused(Exception):
    pass


class Desk:
    """Books items the way the service does: a batch takes a moment of its own, each
    item's outcome is its own (an item named ``refused…`` gets a problem), a batch
    with an item named ``poison`` fails as a whole."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.commits = 0
        self.alone: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def book_batch(self, items: Sequence[str]) -> list[str | Exception]:
        await self.gate.wait()
        await asyncio.sleep(0.01)
        self.batches.append(list(items))
        if "poison" in items:
            raise RuntimeError("a row refused")
        if "outage" in items:
            raise DatabaseUnreachable("the primary went away")
        return [Refused(i) if i.startswith("refused") else f"booked {i}" for i in items]

    async def commit(self) -> None:
        self.commits += 1

    async def book_alone(self, item: str) -> str:
        self.alone.append(item)
        if item == "poison":
            raise Refused(item)
        return f"alone {item}"

    def book(self, batcher: SeatBatcher[str, str], item: str) -> asyncio.Future[str]:
        return asyncio.ensure_future(
            batcher.book(SESSION, item, self.commit, self.book_batch, lambda: self.book_alone(item))
        )


async def outcomes(*futures: asyncio.Future[str]) -> list[str | BaseException]:
    """Every outcome, or a failure (not a hang) when someone is left waiting."""
    return list(await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), timeout=5))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_first_leads_and_the_rest_go_together_in_order() -> None:
    desk, batcher = Desk(), SeatBatcher[str, str](limit=500)
    desk.gate.clear()
    first = desk.book(batcher, "a")
    await settle()
    rest = [desk.book(batcher, name) for name in "bcdefg"]
    await settle()
    desk.gate.set()
    results = await outcomes(first, *rest)
    assert results == [f"booked {n}" for n in "abcdefg"]
    assert desk.batches == [["a"], list("bcdefg")]
    assert desk.commits == 2


async def test_a_batch_takes_at_most_the_limit() -> None:
    desk, batcher = Desk(), SeatBatcher[str, str](limit=3)
    desk.gate.clear()
    futures = [desk.book(batcher, str(n)) for n in range(8)]
    await settle()
    desk.gate.set()
    await outcomes(*futures)
    assert desk.batches == [["0"], ["1", "2", "3"], ["4", "5", "6"], ["7"]]


async def test_each_member_gets_its_own_problem() -> None:
    desk, batcher = Desk(), SeatBatcher[str, str](limit=500)
    desk.gate.clear()
    futures = [desk.book(batcher, name) for name in ("a", "b", "refused-c", "d")]
    await settle()
    desk.gate.set()
    results = await outcomes(*futures)
    assert results[:2] == ["booked a", "booked b"] and results[3] == "booked d"
    assert isinstance(results[2], Refused)


async def test_a_failed_batch_books_each_alone_and_the_queue_goes_on() -> None:
    desk, batcher = Desk(), SeatBatcher[str, str](limit=500)
    desk.gate.clear()
    futures = [desk.book(batcher, name) for name in ("a", "b", "poison", "c")]
    await settle()
    desk.gate.set()
    results = await outcomes(*futures)
    assert results[0] == "booked a"
    assert results[1] == "alone b" and results[3] == "alone c"
    assert isinstance(results[2], Refused)
    assert sorted(desk.alone) == ["b", "c", "poison"]
    assert desk.commits == 1  # the failed batch committed nothing
    assert await desk.book(batcher, "e") == "booked e"


async def test_a_batch_the_database_dropped_fails_its_leader_and_books_the_rest_alone() -> None:
    """The leader's transaction is gone with the connection: it answers with the
    database's fault (a 503 for its caller), never tries again on that transaction."""
    desk, batcher = Desk(), SeatBatcher[str, str](limit=500)
    desk.gate.clear()
    futures = [desk.book(batcher, name) for name in ("a", "outage", "b", "c")]
    await settle()
    desk.gate.set()
    results = await outcomes(*futures)
    assert results[0] == "booked a"
    assert isinstance(results[1], DatabaseUnreachable)
    assert results[2] == "alone b" and results[3] == "alone c"
    assert sorted(desk.alone) == ["b", "c"]
    assert await desk.book(batcher, "e") == "booked e"


async def test_members_that_go_away_leave_no_one_waiting() -> None:
    desk, batcher = Desk(), SeatBatcher[str, str](limit=500)
    desk.gate.clear()
    first = desk.book(batcher, "a")
    await settle()
    gone = desk.book(batcher, "b")
    kept = [desk.book(batcher, name) for name in "cd"]
    await settle()
    gone.cancel()
    desk.gate.set()
    assert await outcomes(first, *kept) == ["booked a", "booked c", "booked d"]
    assert desk.batches == [["a"], ["c", "d"]]
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_a_leader_that_goes_away_at_once_hands_over() -> None:
    desk, batcher = Desk(), SeatBatcher[str, str](limit=1)
    desk.gate.clear()
    tasks: list[asyncio.Future[str]] = []

    async def first() -> str:
        result = await batcher.book(
            SESSION, "a", desk.commit, desk.book_batch, lambda: desk.book_alone("a")
        )
        # "a" has just made "b" the next leader; "b" goes away before it can lead.
        tasks[1].cancel()
        return result

    tasks.append(asyncio.ensure_future(first()))
    await settle()
    tasks += [desk.book(batcher, name) for name in "bc"]
    await settle()
    desk.gate.set()
    results = await outcomes(*tasks)
    assert results[0] == "booked a" and results[2] == "booked c"
    assert isinstance(results[1], asyncio.CancelledError)
    assert desk.batches == [["a"], ["c"]]
    assert not batcher._queues
