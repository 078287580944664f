"""When the registry cannot be reached, booking answers 503 problem+json and stores nothing."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from tests.support.stack import app_client
from tests.training.helpers import create_session


@pytest.mark.parametrize("with_group", [False, True], ids=["worker", "worker-and-group"])
async def test_booking_with_registry_down_is_503_and_writes_nothing(
    training_app_registry_down: FastAPI, writer: dict[str, str], with_group: bool
) -> None:
    from otog_training.enrollments.models import Enrollment, EnrollmentEvent

    async with app_client(training_app_registry_down) as (client, db):
        s = await create_session(client, writer)
        r = await client.post(
            f"/v1/training-sessions/{s['id']}/enrollments",
            json={
                "worker_id": str(uuid.uuid4()),
                **({"group_id": str(uuid.uuid4())} if with_group else {}),
            },
            headers=writer,
        )
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["type"] == "/problems/dependency-unavailable" and body["status"] == 503
        assert "Traceback" not in r.text

        session_id = uuid.UUID(s["id"])
        count = await db.scalar(
            select(func.count()).select_from(Enrollment).where(Enrollment.session_id == session_id)
        )
        events = await db.scalar(
            select(func.count())
            .select_from(EnrollmentEvent)
            .where(EnrollmentEvent.session_id == session_id)
        )
        assert count == 0 and events == 0
        after = (await client.get(f"/v1/training-sessions/{s['id']}", headers=writer)).json()
        assert after["confirmed_count"] == 0 and after["waitlist_count"] == 0

        # Reads that do not need the registry keep working.
        assert (await client.get("/v1/courses", headers=writer)).status_code == 200
