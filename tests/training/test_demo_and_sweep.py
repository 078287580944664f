"""Demo data and the below-minimum sweep, run against the test's own transaction."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date

import asyncpg
import httpx
import pytest
from otog_devstack.postgres import plain_url
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.stack import Databases, truncate_all
from tests.training.helpers import create_session, past


async def test_demo_seeds_programme_courses_once(db: AsyncSession) -> None:
    from otog_training.courses.models import Course
    from otog_training.demo import AREAS, load_demo
    from otog_training.sessions.models import TrainingSession

    await load_demo(db, today=date(2025, 1, 1))
    await load_demo(db, today=date(2025, 1, 2))

    courses = (await db.execute(select(Course).order_by(Course.code))).scalars().all()
    by_code = {c.code: c for c in courses}
    assert {"SCB", "OMC-PRO", "EDC-PLUS"} <= set(by_code)
    assert by_code["SCB"].title_en == "Social Commerce For Business"
    assert by_code["OMC-PRO"].title_th == "การสร้างคอนเทนต์ทางการตลาดบนสื่อออนไลน์แบบมือโปร"
    assert "EDC Plus" in by_code["EDC-PLUS"].title_en
    assert all("ETDA" in c.provider for c in by_code.values() if c.code in {"SCB", "EDC-PLUS"})

    sessions = (await db.execute(select(TrainingSession))).scalars().all()
    assert len(sessions) == len(AREAS)
    assert {s.province_code for s in sessions} == {a.province_code for a in AREAS}
    assert all(s.capacity == 500 and s.minimum == 100 for s in sessions)
    assert all(s.status == "open" for s in sessions)
    assert await db.scalar(select(func.count()).select_from(Course)) == len(courses)


async def test_sweep_cancels_only_closed_sessions_below_minimum(
    training: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession
) -> None:
    from otog_training.courses.repository import CourseRepository
    from otog_training.enrollments.repository import EnrollmentRepository
    from otog_training.sessions.repository import SessionRepository
    from otog_training.sessions.service import SessionService

    closed = await create_session(training, writer, enrollment_closes_at=past())
    still_open = await create_session(training, writer)
    service = SessionService(SessionRepository(db), EnrollmentRepository(db), CourseRepository(db))

    cancelled = await service.cancel_below_minimum()
    assert uuid.UUID(closed["id"]) in cancelled
    assert uuid.UUID(still_open["id"]) not in cancelled
    await db.flush()

    r = await training.get(f"/v1/training-sessions/{closed['id']}", headers=writer)
    assert r.json()["status"] == "cancelled" and r.json()["cancel_reason"] == "below_minimum"
    r = await training.get(f"/v1/training-sessions/{still_open['id']}", headers=writer)
    assert r.json()["status"] == "open"
    assert await service.cancel_below_minimum() == []


def test_operator_commands_on_a_live_database(
    databases: Databases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from otog_training import cli

    url = databases.live_urls["training"]
    monkeypatch.setenv("TRAINING_DATABASE_URL", url)

    async def sessions_by_status() -> dict[str, int]:
        conn = await asyncpg.connect(plain_url(url))
        try:
            rows = await conn.fetch(
                "SELECT s.status, count(*) AS n FROM training_sessions s "
                "JOIN courses c ON c.id = s.course_id WHERE c.code = 'EDC-PLUS' GROUP BY 1"
            )
            return {r["status"]: r["n"] for r in rows}
        finally:
            await conn.close()

    try:
        assert cli.main(["load-demo"]) == 0
        assert cli.main(["load-demo"]) == 0
        before = asyncio.run(sessions_by_status())
        assert set(before) == {"open"}

        async def close_demo_booking() -> None:
            conn = await asyncpg.connect(plain_url(url))
            try:
                await conn.execute(
                    "UPDATE training_sessions SET enrollment_closes_at = now() - interval '1 day'"
                    " WHERE course_id = (SELECT id FROM courses WHERE code = 'EDC-PLUS')"
                )
            finally:
                await conn.close()

        asyncio.run(close_demo_booking())
        capsys.readouterr()
        assert cli.main(["cancel-below-minimum"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert len(report["cancelled"]) == before["open"]
        assert asyncio.run(sessions_by_status()) == {"cancelled": before["open"]}
    finally:
        asyncio.run(truncate_all(url))
