"""Booking seats against a real registry: confirmed, waitlisted, cancelled, promoted."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.tokens import TokenFactory
from tests.training.helpers import (
    add_member,
    create_course,
    create_group,
    create_session,
    create_worker,
    past,
    remove_member,
    seat_invariants_in,
)

Json = dict[str, Any]


@pytest.fixture
def workers(live_registry_client: httpx.AsyncClient, tokens: TokenFactory) -> Any:
    async def make(n: int) -> list[str]:
        return [await create_worker(live_registry_client, tokens) for _ in range(n)]

    return make


async def enroll(
    client: httpx.AsyncClient, headers: dict[str, str], session_id: str, worker_id: str, **kw: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/training-sessions/{session_id}/enrollments",
        json={"worker_id": worker_id, **kw},
        headers=headers,
    )


async def events_of(
    client: httpx.AsyncClient, headers: dict[str, str], session_id: str
) -> list[Json]:
    r = await client.get(
        f"/v1/training-sessions/{session_id}/events", headers=headers, params={"limit": 200}
    )
    assert r.status_code == 200, r.text
    items: list[Json] = r.json()["items"]
    return items


async def test_book_seats_then_waitlist(
    training: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession, workers: Any
) -> None:
    s = await create_session(training, writer, capacity=3, minimum=2)
    people = await workers(5)
    results = [await enroll(training, writer, s["id"], w) for w in people]
    assert [r.status_code for r in results] == [201] * 5, [r.text for r in results]
    bodies = [r.json() for r in results]
    assert [b["status"] for b in bodies] == ["confirmed"] * 3 + ["waitlisted"] * 2
    assert [b["waitlist_position"] for b in bodies] == [None, None, None, 1, 2]
    assert results[0].headers["location"] == f"/v1/enrollments/{bodies[0]['id']}"
    assert "etag" in results[0].headers

    session = (await training.get(f"/v1/training-sessions/{s['id']}", headers=writer)).json()
    assert session["status"] == "confirmed"  # reached its minimum of 2
    assert session["confirmed_count"] == 3 and session["waitlist_count"] == 2
    assert session["seats_left"] == 0
    await seat_invariants_in(db, s["id"])

    one = await training.get(f"/v1/enrollments/{bodies[3]['id']}", headers=writer)
    assert one.status_code == 200 and one.json() == bodies[3]

    kinds = [e["kind"] for e in await events_of(training, writer, s["id"])]
    assert kinds == ["enrollment.confirmed"] * 3 + ["enrollment.waitlisted"] * 2


async def test_cancel_confirmed_promotes_first_waiting(
    training: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession, workers: Any
) -> None:
    s = await create_session(training, writer, capacity=2, minimum=1)
    people = await workers(5)
    ids = [(await enroll(training, writer, s["id"], w)).json()["id"] for w in people]

    r = await training.post(
        f"/v1/enrollments/{ids[0]}/cancel", json={"note": "ill"}, headers=writer
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["cancel_reason"] == "withdrawn"
    assert r.json()["cancel_note"] == "ill" and r.json()["waitlist_position"] is None

    states = {i: (await training.get(f"/v1/enrollments/{i}", headers=writer)).json() for i in ids}
    assert states[ids[2]]["status"] == "confirmed" and states[ids[2]]["confirmed_at"]
    assert [states[i]["waitlist_position"] for i in ids[3:]] == [1, 2]
    counts = await seat_invariants_in(db, s["id"])
    assert counts == {"confirmed": 2, "waitlisted": 2}

    events = await events_of(training, writer, s["id"])
    assert [(e["kind"], e["enrollment_id"]) for e in events[-2:]] == [
        ("enrollment.cancelled", ids[0]),
        ("enrollment.promoted", ids[2]),
    ]

    # Cancelling twice is a conflict with the enrolment's state.
    again = await training.post(f"/v1/enrollments/{ids[0]}/cancel", headers=writer)
    assert again.status_code == 409 and again.json()["type"] == "/problems/wrong-state"


async def test_cancel_waiting_closes_the_gap(
    training: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession, workers: Any
) -> None:
    s = await create_session(training, writer, capacity=1, minimum=1)
    people = await workers(5)
    ids = [(await enroll(training, writer, s["id"], w)).json()["id"] for w in people]
    # Queue: ids[1..4] at 1..4. The one at 2 leaves.
    r = await training.post(f"/v1/enrollments/{ids[2]}/cancel", headers=writer)
    assert r.status_code == 200
    positions = [
        (await training.get(f"/v1/enrollments/{i}", headers=writer)).json()["waitlist_position"]
        for i in (ids[1], ids[3], ids[4])
    ]
    assert positions == [1, 2, 3]
    assert await seat_invariants_in(db, s["id"]) == {"confirmed": 1, "waitlisted": 3}

    waiting = await training.get(
        f"/v1/training-sessions/{s['id']}/enrollments",
        headers=writer,
        params={"status": "waitlisted"},
    )
    assert [e["id"] for e in waiting.json()["items"]] == [ids[1], ids[3], ids[4]]


async def test_same_worker_twice_is_409(
    training: httpx.AsyncClient, writer: dict[str, str], workers: Any
) -> None:
    s = await create_session(training, writer)
    (worker,) = await workers(1)
    first = await enroll(training, writer, s["id"], worker)
    assert first.status_code == 201
    second = await enroll(training, writer, s["id"], worker)
    assert second.status_code == 409
    assert second.headers["content-type"].startswith("application/problem+json")
    assert second.json()["type"] == "/problems/already-enrolled"
    # After cancelling, the worker may book again.
    await training.post(f"/v1/enrollments/{first.json()['id']}/cancel", headers=writer)
    assert (await enroll(training, writer, s["id"], worker)).status_code == 201


async def test_unknown_worker_is_422(training: httpx.AsyncClient, writer: dict[str, str]) -> None:
    s = await create_session(training, writer)
    r = await enroll(training, writer, s["id"], str(uuid.uuid4()))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/unknown-worker"
    assert r.json()["errors"][0]["field"] == "body.worker_id"
    after = (await training.get(f"/v1/training-sessions/{s['id']}", headers=writer)).json()
    assert after["confirmed_count"] == 0
    bad = await enroll(training, writer, s["id"], "not-a-uuid")
    assert bad.status_code == 422


async def test_groups_must_be_known_and_eligible(
    training: httpx.AsyncClient,
    writer: dict[str, str],
    workers: Any,
    live_registry_client: httpx.AsyncClient,
    tokens: TokenFactory,
) -> None:
    s = await create_session(training, writer, capacity=10)
    w1, w2, w3 = await workers(3)
    unknown = await enroll(training, writer, s["id"], w1, group_id=str(uuid.uuid4()))
    assert unknown.status_code == 422 and unknown.json()["type"] == "/problems/unknown-group"
    assert unknown.json()["errors"] == [{"field": "body.group_id", "message": "unknown group"}]

    suspended = await create_group(live_registry_client, tokens, stage="suspended", members=(w2,))
    r = await enroll(training, writer, s["id"], w2, group_id=suspended)
    assert r.status_code == 422 and r.json()["type"] == "/problems/group-not-eligible"
    assert r.json()["errors"][0]["field"] == "body.group_id"

    group = await create_group(live_registry_client, tokens, members=(w3,))
    ok = await enroll(training, writer, s["id"], w3, group_id=group)
    assert ok.status_code == 201 and ok.json()["group_id"] == group
    listed = await training.get("/v1/enrollments", headers=writer, params={"group_id": group})
    assert [e["id"] for e in listed.json()["items"]] == [ok.json()["id"]]
    mine = await training.get("/v1/enrollments", headers=writer, params={"worker_id": w3})
    assert [e["id"] for e in mine.json()["items"]] == [ok.json()["id"]]
    after = (await training.get(f"/v1/training-sessions/{s['id']}", headers=writer)).json()
    assert after["confirmed_count"] == 1


async def test_group_needs_current_membership(
    training: httpx.AsyncClient,
    writer: dict[str, str],
    db: AsyncSession,
    workers: Any,
    live_registry_client: httpx.AsyncClient,
    tokens: TokenFactory,
) -> None:
    """Booking for a group asks the real registry whether the worker is a member of
    it now: never a member, or a former member, is a 422 on `group_id` and stores
    nothing; a member who rejoined may book."""
    from otog_training.enrollments.models import Enrollment, EnrollmentEvent
    from sqlalchemy import func, select

    s = await create_session(training, writer, capacity=10)
    outsider, leaver, member = await workers(3)
    group = await create_group(live_registry_client, tokens, members=(leaver, member))
    await remove_member(live_registry_client, tokens, group, leaver)

    for worker in (outsider, leaver):
        r = await enroll(training, writer, s["id"], worker, group_id=group)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"] == "/problems/not-a-group-member"
        assert r.json()["errors"] == [
            {"field": "body.group_id", "message": "the worker is not a current member"}
        ]
    # An unknown worker with a group is still an unknown worker.
    r = await enroll(training, writer, s["id"], str(uuid.uuid4()), group_id=group)
    assert r.status_code == 422 and r.json()["type"] == "/problems/unknown-worker"

    session_id = uuid.UUID(s["id"])
    stored = await db.scalar(
        select(func.count()).select_from(Enrollment).where(Enrollment.session_id == session_id)
    )
    told = await db.scalar(
        select(func.count())
        .select_from(EnrollmentEvent)
        .where(EnrollmentEvent.session_id == session_id)
    )
    assert stored == 0 and told == 0
    after = (await training.get(f"/v1/training-sessions/{s['id']}", headers=writer)).json()
    assert after["confirmed_count"] == 0 and after["waitlist_count"] == 0

    ok = await enroll(training, writer, s["id"], member, group_id=group)
    assert ok.status_code == 201, ok.text
    # Joining again makes the former member a current one.
    await add_member(live_registry_client, tokens, group, leaver)
    again = await enroll(training, writer, s["id"], leaver, group_id=group)
    assert again.status_code == 201, again.text
    # Without a group, membership is not asked.
    assert (await enroll(training, writer, s["id"], outsider)).status_code == 201


async def test_booking_closed(
    training: httpx.AsyncClient, writer: dict[str, str], workers: Any
) -> None:
    (worker,) = await workers(1)
    closed = await create_session(training, writer, enrollment_closes_at=past())
    r = await enroll(training, writer, closed["id"], worker)
    assert r.status_code == 409 and r.json()["type"] == "/problems/enrollment-closed"

    called_off = await create_session(training, writer)
    await training.post(
        f"/v1/training-sessions/{called_off['id']}/cancel",
        json={"reason": "organiser", "note": "Trainer unavailable"},
        headers=writer,
    )
    r = await enroll(training, writer, called_off["id"], worker)
    assert r.status_code == 409 and r.json()["type"] == "/problems/enrollment-closed"


async def test_below_minimum_cancellation_tells_everyone(
    training: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession, workers: Any
) -> None:
    from sqlalchemy import text

    s = await create_session(training, writer, capacity=2, minimum=2)
    w1, w2 = await workers(2)
    first = (await enroll(training, writer, s["id"], w1)).json()
    assert first["status"] == "confirmed"
    # Booking closes with one person of the two needed (moved into the past here).
    await db.execute(
        text(
            "UPDATE training_sessions SET enrollment_closes_at = now() - interval '1 hour' "
            "WHERE id = :id"
        ),
        {"id": uuid.UUID(s["id"])},
    )
    await db.commit()  # ends this savepoint only; the test's transaction is still rolled back
    late = await enroll(training, writer, s["id"], w2)
    assert late.status_code == 409

    r = await training.post(f"/v1/training-sessions/{s['id']}/cancel", headers=writer)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["confirmed_count"] == 0
    got = (await training.get(f"/v1/enrollments/{first['id']}", headers=writer)).json()
    assert got["status"] == "cancelled" and got["cancel_reason"] == "session_cancelled"
    told = [
        e for e in await events_of(training, writer, s["id"]) if e["kind"] == "session.cancelled"
    ]
    assert [(e["worker_id"], e["reason"], e["published_at"]) for e in told] == [
        (w1, "below_minimum", None)
    ]
    await seat_invariants_in(db, s["id"])


async def test_attendance_completion_certificate_and_progress(
    training: httpx.AsyncClient,
    writer: dict[str, str],
    db: AsyncSession,
    workers: Any,
    live_registry_client: httpx.AsyncClient,
    tokens: TokenFactory,
) -> None:
    s = await create_session(training, writer, capacity=2, minimum=1)
    a, b, c = await workers(3)
    group = await create_group(live_registry_client, tokens, members=(a, b))
    ea = (await enroll(training, writer, s["id"], a, group_id=group)).json()
    eb = (await enroll(training, writer, s["id"], b, group_id=group)).json()
    ec = (await enroll(training, writer, s["id"], c)).json()
    assert ec["status"] == "waitlisted"

    # Not before the session runs.
    early = await training.post(
        f"/v1/enrollments/{ea['id']}/attendance",
        json={"attended_on": s["starts_on"]},
        headers=writer,
    )
    assert early.status_code == 409 and early.json()["type"] == "/problems/wrong-state"

    started = await training.post(f"/v1/training-sessions/{s['id']}/start", headers=writer)
    assert started.status_code == 200 and started.json()["status"] == "running"
    assert started.json()["waitlist_count"] == 0
    released = (await training.get(f"/v1/enrollments/{ec['id']}", headers=writer)).json()
    assert released["status"] == "cancelled" and released["cancel_reason"] == "waitlist_closed"
    await seat_invariants_in(db, s["id"])

    outside = await training.post(
        f"/v1/enrollments/{ea['id']}/attendance", json={"attended_on": "2000-01-01"}, headers=writer
    )
    assert outside.status_code == 422
    for _ in range(2):  # recording the same day again changes nothing
        r = await training.post(
            f"/v1/enrollments/{ea['id']}/attendance",
            json={"attended_on": s["starts_on"]},
            headers=writer,
        )
        assert r.status_code == 200 and r.json()["days_present"] == 1
    r = await training.post(
        f"/v1/enrollments/{ea['id']}/attendance",
        json={"attended_on": s["ends_on"], "present": False},
        headers=writer,
    )
    assert r.json()["days_present"] == 1
    att = (await training.get(f"/v1/enrollments/{ea['id']}/attendance", headers=writer)).json()
    assert [(x["attended_on"], x["present"]) for x in att["records"]] == [
        (s["starts_on"], True),
        (s["ends_on"], False),
    ]

    no_show = await training.post(f"/v1/enrollments/{eb['id']}/complete", headers=writer)
    assert no_show.status_code == 409
    too_soon = await training.post(
        f"/v1/enrollments/{ea['id']}/complete",
        json={"completed_on": "2000-01-01"},
        headers=writer,
    )
    assert too_soon.status_code == 422
    done = await training.post(
        f"/v1/enrollments/{ea['id']}/complete", json={"completed_on": s["ends_on"]}, headers=writer
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "completed" and body["completed_on"] == s["ends_on"]
    code = (await training.get(f"/v1/courses/{s['course_id']}", headers=writer)).json()["code"]
    year = int(body["completed_on"][:4]) + 543
    assert re.fullmatch(rf"{code}-{year}-\d{{6}}", body["certificate_number"])
    twice = await training.post(f"/v1/enrollments/{ea['id']}/complete", headers=writer)
    assert twice.status_code == 409

    await training.post(
        f"/v1/enrollments/{eb['id']}/attendance",
        json={"attended_on": s["starts_on"]},
        headers=writer,
    )
    dup = await training.post(
        f"/v1/enrollments/{eb['id']}/complete",
        json={"certificate_number": body["certificate_number"], "completed_on": s["ends_on"]},
        headers=writer,
    )
    assert dup.status_code == 409 and dup.json()["type"] == "/problems/duplicate-certificate-number"
    own = await training.post(
        f"/v1/enrollments/{eb['id']}/complete",
        json={"certificate_number": "DSD-10-2568-0001", "completed_on": s["ends_on"]},
        headers=writer,
    )
    assert own.status_code == 200 and own.json()["certificate_number"] == "DSD-10-2568-0001"
    # Completed people still hold their seats in the counts.
    assert await seat_invariants_in(db, s["id"]) == {"confirmed": 2, "waitlisted": 0}

    progress = await training.get(
        "/v1/enrollments/progress", headers=writer, params={"group_id": group}
    )
    assert progress.status_code == 200, progress.text
    p = progress.json()
    assert p["members_enrolled"] == 2 and p["members_completed"] == 2
    assert [
        (x["course_id"], x["members_enrolled"], x["members_completed"]) for x in p["courses"]
    ] == [(s["course_id"], 2, 2)]
    kinds = [e["kind"] for e in await events_of(training, writer, s["id"])]
    assert kinds.count("enrollment.completed") == 2 and "session.waitlist_closed" in kinds

    finished = await training.post(f"/v1/training-sessions/{s['id']}/complete", headers=writer)
    assert finished.status_code == 200 and finished.json()["status"] == "completed"
    late_cancel = await training.post(f"/v1/enrollments/{eb['id']}/cancel", headers=writer)
    assert late_cancel.status_code == 409


async def test_province_restriction_on_enrollments(
    training: httpx.AsyncClient, tokens: TokenFactory, workers: Any
) -> None:
    national = tokens.headers("training:read", "training:write")
    nan = tokens.headers("training:read", "training:write", province="55")
    course = await create_course(training, national)
    bangkok_session = await create_session(training, national, course["id"], province_code="10")
    nan_session = await create_session(training, nan, course["id"], province_code="55")
    w1, w2 = await workers(2)

    r = await enroll(training, nan, bangkok_session["id"], w1)
    assert r.status_code == 404
    theirs = (await enroll(training, national, bangkok_session["id"], w1)).json()
    ours = (await enroll(training, nan, nan_session["id"], w2)).json()

    assert (await training.get(f"/v1/enrollments/{theirs['id']}", headers=nan)).status_code == 404
    assert (
        await training.post(f"/v1/enrollments/{theirs['id']}/cancel", headers=nan)
    ).status_code == 404
    assert (await training.get(f"/v1/enrollments/{ours['id']}", headers=nan)).status_code == 200
    listed = await training.get("/v1/enrollments", headers=nan, params={"worker_id": w1})
    assert listed.json()["items"] == []
    r = await training.get(
        f"/v1/training-sessions/{bangkok_session['id']}/enrollments", headers=nan
    )
    assert r.status_code == 404
    r = await training.get(f"/v1/training-sessions/{bangkok_session['id']}/events", headers=nan)
    assert r.status_code == 404

    reader_only = tokens.headers("training:read")
    r = await enroll(training, reader_only, nan_session["id"], w1)
    assert r.status_code == 403
