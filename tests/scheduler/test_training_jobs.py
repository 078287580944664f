"""Training's job: sessions below their minimum at their cut-off are cancelled, with
their partner events, by the same path as a cancellation by hand; a rerun changes
nothing. Runs in the test's rolled-back transaction, the clock given by the test."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from otog_training.jobs import cancel_below_minimum
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.tokens import TokenFactory
from tests.training.conftest import (  # noqa: F401  (fixtures)
    db,
    live_registry_client,
    training,
    training_app,
    training_client_registered,
    training_session,
    writer,
)
from tests.training.helpers import create_session, create_worker


async def outbox(session: AsyncSession, subject_ids: list[str]) -> list[dict[str, Any]]:
    """The cancellation events of these subjects (creating and booking record theirs too)."""
    rows = await session.execute(
        # One transaction: occurred_at is the same for all; sessions first by type.
        text(
            "SELECT type, subject, province_code, data FROM outbox "
            "WHERE type LIKE '%.cancelled' ORDER BY type DESC, id"
        )
    )
    return [dict(r._mapping) for r in rows if any(i in r.subject for i in subject_ids)]


async def test_cancels_at_the_cut_off_with_events_once(
    training: httpx.AsyncClient,  # noqa: F811
    writer: dict[str, str],  # noqa: F811
    db: AsyncSession,  # noqa: F811
    live_registry_client: httpx.AsyncClient,  # noqa: F811
    tokens: TokenFactory,
) -> None:
    closes_at = datetime.now(UTC) + timedelta(days=2)
    below = await create_session(
        training, writer, enrollment_closes_at=closes_at.isoformat(), minimum=2
    )
    worker = await create_worker(live_registry_client, tokens)
    booked = await training.post(
        f"/v1/training-sessions/{below['id']}/enrollments",
        json={"worker_id": worker},
        headers=writer,
    )
    assert booked.status_code == 201, booked.text
    enrollment_id = booked.json()["id"]

    # Before the cut-off: nothing.
    assert await cancel_below_minimum(db, closes_at - timedelta(minutes=1)) == []

    cancelled = await cancel_below_minimum(db, closes_at + timedelta(minutes=3))
    assert uuid.UUID(below["id"]) in cancelled
    r = await training.get(f"/v1/training-sessions/{below['id']}", headers=writer)
    assert r.json()["status"] == "cancelled" and r.json()["cancel_reason"] == "below_minimum"

    events = await outbox(db, [below["id"], enrollment_id])
    assert [(e["type"], e["subject"]) for e in events] == [
        ("session.cancelled", f"/v1/training-sessions/{below['id']}"),
        ("enrollment.cancelled", f"/v1/enrollments/{enrollment_id}"),
    ]
    assert events[0]["province_code"] == "10"
    assert events[0]["data"]["reason"] == "below_minimum"
    assert events[0]["data"]["cancelled_enrollments"] == 1
    assert events[1]["data"]["session_id"] == below["id"]
    assert events[1]["data"]["previous_status"] == "confirmed"

    # A rerun (a second process, a later run) changes nothing and tells nobody again.
    assert await cancel_below_minimum(db, closes_at + timedelta(minutes=8)) == []
    assert await outbox(db, [below["id"], enrollment_id]) == events
