"""A spare session is handed out only when a pool slot is free at once."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from otog_shared.db import spare_session


class _Session:
    async def __aenter__(self) -> _Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def rollback(self) -> None:
        return None


def _request(slots: asyncio.Semaphore) -> Any:
    app = SimpleNamespace(state=SimpleNamespace(sessionmaker=_Session, session_slots=slots))
    return SimpleNamespace(app=app)


async def test_a_spare_session_takes_a_free_slot_and_gives_it_back() -> None:
    slots = asyncio.Semaphore(2)
    request = _request(slots)
    async with slots:  # the request's own session
        spare = spare_session(request)
        assert spare is not None
        async with spare:
            assert slots.locked()
            # Every slot is taken: no third session, and no waiting for one.
            assert spare_session(request) is None
        assert not slots.locked()
    assert spare_session(request) is not None


async def test_no_spare_session_while_others_wait_for_a_slot() -> None:
    slots = asyncio.Semaphore(1)
    request = _request(slots)
    await slots.acquire()
    waiter = asyncio.create_task(slots.acquire())  # a request queued for the pool
    await asyncio.sleep(0)
    slots.release()
    # The queued request comes first, even though a slot was just given back.
    assert spare_session(request) is None
    await waiter
    slots.release()
