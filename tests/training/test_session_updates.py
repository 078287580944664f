"""PATCH /v1/training-sessions/{id}: what may change when, If-Match, the waitlist moving
up when seats are added, and people told when their session moves."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.tokens import TokenFactory
from tests.training.helpers import create_course, create_session, create_worker, day

Json = dict[str, Any]


@pytest.fixture
def workers(live_registry_client: httpx.AsyncClient, tokens: TokenFactory) -> Any:
    async def make(n: int) -> list[str]:
        return [await create_worker(live_registry_client, tokens) for _ in range(n)]

    return make


async def book_all(
    client: httpx.AsyncClient, headers: dict[str, str], session_id: str, people: list[str]
) -> list[Json]:
    bodies = []
    for worker in people:
        r = await client.post(
            f"/v1/training-sessions/{session_id}/enrollments",
            json={"worker_id": worker},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        bodies.append(r.json())
    return bodies


async def patch(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    session_id: str,
    body: Any,
    if_match: str | None = None,
) -> httpx.Response:
    extra = {"If-Match": if_match} if if_match is not None else {}
    return await client.patch(
        f"/v1/training-sessions/{session_id}", json=body, headers={**headers, **extra}
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


async def rows(db: AsyncSession, session_id: str) -> list[Any]:
    """Enrolments of the session straight from the table, in booking order."""
    result = await db.execute(
        text(
            "SELECT id::text AS id, status, waitlist_position FROM enrollments "
            "WHERE session_id = :id ORDER BY enrolled_at, id"
        ),
        {"id": uuid.UUID(session_id)},
    )
    return list(result.all())


async def counters(db: AsyncSession, session_id: str) -> Any:
    return (
        await db.execute(
            text(
                "SELECT capacity, minimum, confirmed_count, waitlist_count, status, venue, "
                "online_url, mode, starts_on, ends_on FROM training_sessions WHERE id = :id"
            ),
            {"id": uuid.UUID(session_id)},
        )
    ).one()


async def test_if_match_guards_the_change(
    training: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession
) -> None:
    s = await create_session(training, writer, capacity=10, minimum=5)
    got = await training.get(f"/v1/training-sessions/{s['id']}", headers=writer)
    etag = got.headers["etag"]

    first = await patch(training, writer, s["id"], {"capacity": 12}, if_match=etag)
    assert first.status_code == 200, first.text
    assert first.json()["capacity"] == 12 and first.json()["seats_left"] == 12
    new_etag = first.headers["etag"]
    assert new_etag != etag
    # The ETag of the answer is the one a GET now gives.
    again = await training.get(f"/v1/training-sessions/{s['id']}", headers=writer)
    assert again.headers["etag"] == new_etag and again.json() == first.json()

    stale = await patch(training, writer, s["id"], {"capacity": 20}, if_match=etag)
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert stale.json()["type"] == "/problems/precondition-failed"
    weak = await patch(training, writer, s["id"], {"capacity": 20}, if_match=f"W/{new_etag}")
    assert weak.status_code == 412
    assert (await counters(db, s["id"])).capacity == 12

    listed = await patch(
        training, writer, s["id"], {"capacity": 14}, if_match=f'"nope", {new_etag}'
    )
    assert listed.status_code == 200
    assert (
        await patch(training, writer, s["id"], {"capacity": 15}, if_match="*")
    ).status_code == 200
    # Without If-Match the change is made as well (the header is the client's choice).
    assert (await patch(training, writer, s["id"], {"minimum": 3})).json()["minimum"] == 3


async def test_raised_capacity_moves_the_waitlist_up_in_order(
    training: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession, workers: Any
) -> None:
    from tests.training.helpers import seat_invariants_in

    s = await create_session(training, writer, capacity=2, minimum=2)
    booked = await book_all(training, writer, s["id"], await workers(7))
    ids = [b["id"] for b in booked]
    assert [b["waitlist_position"] for b in booked] == [None, None, 1, 2, 3, 4, 5]
    # One in the middle of the queue leaves first: positions close up as before.
    r = await training.post(f"/v1/enrollments/{ids[4]}/cancel", headers=writer)
    assert r.status_code == 200
    before_events = len(await events_of(training, writer, s["id"]))

    r = await patch(training, writer, s["id"], {"capacity": 4})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["capacity"], body["confirmed_count"], body["waitlist_count"]) == (4, 4, 2)
    assert body["seats_left"] == 0 and body["status"] == "confirmed"

    table = {row.id: (row.status, row.waitlist_position) for row in await rows(db, s["id"])}
    # The first two waiting (booked 3rd and 4th) got the seats; the rest moved up by two.
    assert table[ids[2]] == ("confirmed", None) and table[ids[3]] == ("confirmed", None)
    assert table[ids[5]] == ("waitlisted", 1) and table[ids[6]] == ("waitlisted", 2)
    assert await seat_invariants_in(db, s["id"]) == {"confirmed": 4, "waitlisted": 2}

    new = (await events_of(training, writer, s["id"]))[before_events:]
    assert [(e["kind"], e["enrollment_id"]) for e in new] == [
        ("enrollment.promoted", ids[2]),
        ("enrollment.promoted", ids[3]),
    ]
    one = await training.get(f"/v1/enrollments/{ids[2]}", headers=writer)
    assert one.json()["status"] == "confirmed" and one.json()["confirmed_at"]

    # More seats than people waiting: everybody gets one, nobody waits.
    r = await patch(training, writer, s["id"], {"capacity": 50})
    assert r.status_code == 200
    assert (r.json()["confirmed_count"], r.json()["waitlist_count"]) == (6, 0)
    assert await seat_invariants_in(db, s["id"]) == {"confirmed": 6, "waitlisted": 0}
    promoted = [
        e["enrollment_id"]
        for e in await events_of(training, writer, s["id"])
        if e["kind"] == "enrollment.promoted"
    ]
    assert promoted == [ids[2], ids[3], ids[5], ids[6]]


async def test_capacity_never_below_the_confirmed(
    training: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession, workers: Any
) -> None:
    s = await create_session(training, writer, capacity=5, minimum=1)
    await book_all(training, writer, s["id"], await workers(3))
    r = await patch(training, writer, s["id"], {"capacity": 2, "minimum": 1})
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"] == "/problems/capacity-below-confirmed"
    assert problem["confirmed_count"] == 3 and problem["capacity"] == 2
    assert (await counters(db, s["id"])).capacity == 5
    # Down to exactly the confirmed count is fine; then the next booking waits.
    r = await patch(training, writer, s["id"], {"capacity": 3})
    assert r.status_code == 200 and r.json()["seats_left"] == 0
    (late,) = await book_all(training, writer, s["id"], await workers(1))
    assert late["status"] == "waitlisted" and late["waitlist_position"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"capacity": 501}, "body.capacity"),
        ({"capacity": 0}, "body.capacity"),
        ({"capacity": None}, "body.capacity"),
        ({"minimum": None}, "body.minimum"),
        ({"starts_on": None}, "body.starts_on"),
        ({"mode": None}, "body.mode"),
        ({"minimum": 11}, "body.minimum"),
        ({"capacity": 4}, "body.capacity"),  # below the minimum of 5
        ({"capacity": 6, "minimum": 7}, "body.minimum"),
        ({"ends_on": "2000-01-01"}, "body.ends_on"),
        ({"venue": None}, "body.venue"),  # an onsite session keeps its venue
        ({"venue": "   "}, "body.venue"),
        ({"mode": "online"}, "body.online_url"),
        ({"mode": "online", "online_url": None}, "body.online_url"),
        ({"mode": "onsite", "venue": None}, "body.venue"),
        ({"online_url": "ftp://files.example/x"}, "body.online_url"),
        ({"enrollment_closes_at": "2099-01-01T10:00:00"}, "body.enrollment_closes_at"),
        ({"enrollment_closes_at": 0}, "body.enrollment_closes_at"),  # not 1970-01-01
        ({"starts_on": 0}, "body.starts_on"),
        ({"course_id": "00000000-0000-4000-8000-000000000000"}, "body.course_id"),
        ({"province_code": "55"}, "body.province_code"),
        ({"status": "running"}, "body.status"),
        ({"capacity": "12"}, "body.capacity"),
    ],
)
async def test_invalid_changes_are_422_and_change_nothing(
    training: httpx.AsyncClient,
    writer: dict[str, str],
    db: AsyncSession,
    body: Json,
    field: str,
) -> None:
    s = await create_session(training, writer, capacity=10, minimum=5)
    before = await counters(db, s["id"])
    r = await patch(training, writer, s["id"], body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]], r.json()
    assert await counters(db, s["id"]) == before
    assert await events_of(training, writer, s["id"]) == []


async def test_dates_must_leave_booking_closing_by_the_first_day(
    training: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    s = await create_session(
        training,
        writer,
        starts_on=day(30).isoformat(),
        ends_on=day(31).isoformat(),
        enrollment_closes_at=f"{day(29).isoformat()}T17:00:00+07:00",
    )
    # Moving the start before the closing time needs a new closing time.
    r = await patch(
        training,
        writer,
        s["id"],
        {"starts_on": day(20).isoformat(), "ends_on": day(21).isoformat()},
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.enrollment_closes_at"]
    r = await patch(
        training,
        writer,
        s["id"],
        {
            "starts_on": day(20).isoformat(),
            "ends_on": day(21).isoformat(),
            "enrollment_closes_at": f"{day(19).isoformat()}T17:00:00+07:00",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["starts_on"] == day(20).isoformat()
    assert r.json()["enrollment_closes_at"] == f"{day(19).isoformat()}T17:00:00+07:00"
    # starts_on alone past ends_on names starts_on.
    r = await patch(training, writer, s["id"], {"starts_on": day(25).isoformat()})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.starts_on"


async def test_people_are_told_when_their_session_moves(
    training: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession, workers: Any
) -> None:
    s = await create_session(training, writer, capacity=2, minimum=1)
    booked = await book_all(training, writer, s["id"], await workers(4))
    ids = [b["id"] for b in booked]
    await training.post(f"/v1/enrollments/{ids[0]}/cancel", headers=writer)  # promotes ids[2]
    told_before = len(await events_of(training, writer, s["id"]))

    # Changes nobody needs to hear about, and values equal to the current ones,
    # tell nobody.
    r = await patch(training, writer, s["id"], {"minimum": 2, "venue": s["venue"]})
    assert r.status_code == 200
    assert len(await events_of(training, writer, s["id"])) == told_before

    new_start, new_end = day(40).isoformat(), day(41).isoformat()
    r = await patch(
        training,
        writer,
        s["id"],
        {"starts_on": new_start, "ends_on": new_end, "venue": "Room 2, Bangkok office"},
    )
    assert r.status_code == 200, r.text
    told = (await events_of(training, writer, s["id"]))[told_before:]
    # Everybody with a seat or a place in the queue, in booking order; not who left.
    assert [(e["kind"], e["enrollment_id"]) for e in told] == [
        ("session.changed", ids[1]),
        ("session.changed", ids[2]),
        ("session.changed", ids[3]),
    ]
    assert [e["waitlist_position"] for e in told] == [None, None, 1]
    assert told[0]["changes"] == {
        "ends_on": {"before": s["ends_on"], "after": new_end},
        "starts_on": {"before": s["starts_on"], "after": new_start},
        "venue": {"before": s["venue"], "after": "Room 2, Bangkok office"},
    }
    assert all(e["changes"] == told[0]["changes"] for e in told)
    assert all(e["published_at"] is None for e in told)


async def test_switching_mode_needs_its_place(
    training: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession
) -> None:
    s = await create_session(training, writer)
    url = "https://meet.example.org/otog-scb"
    r = await patch(training, writer, s["id"], {"mode": "online", "online_url": url})
    assert r.status_code == 200, r.text
    assert (r.json()["mode"], r.json()["online_url"], r.json()["venue"]) == (
        "online",
        url,
        s["venue"],
    )
    # An online session may drop its venue, not its link.
    r = await patch(training, writer, s["id"], {"venue": None})
    assert r.status_code == 200 and r.json()["venue"] is None
    r = await patch(training, writer, s["id"], {"online_url": None})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.online_url"
    # Back on site, with a venue sent along.
    r = await patch(training, writer, s["id"], {"mode": "onsite"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.venue"
    r = await patch(training, writer, s["id"], {"mode": "onsite", "venue": "Hall A"})
    assert r.status_code == 200 and r.json()["venue"] == "Hall A"

    onsite_only = await create_course(training, writer, modes=["onsite"])
    other = await create_session(training, writer, onsite_only["id"])
    r = await patch(training, writer, other["id"], {"mode": "online", "online_url": url})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.mode"
    assert (await counters(db, other["id"])).mode == "onsite"


async def test_lower_minimum_reached_confirms_the_session(
    training: httpx.AsyncClient, writer: dict[str, str], workers: Any
) -> None:
    s = await create_session(training, writer, capacity=10, minimum=5)
    await book_all(training, writer, s["id"], await workers(3))
    r = await patch(training, writer, s["id"], {"minimum": 3})
    assert r.status_code == 200
    assert r.json()["status"] == "confirmed" and r.json()["confirmed_at"]
    # Raising it again does not take the confirmation back.
    r = await patch(training, writer, s["id"], {"minimum": 8})
    assert r.status_code == 200 and r.json()["status"] == "confirmed"


async def test_what_may_change_depends_on_the_status(
    training: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession, workers: Any
) -> None:
    s = await create_session(training, writer, capacity=2, minimum=1)
    booked = await book_all(training, writer, s["id"], await workers(2))
    started = await training.post(f"/v1/training-sessions/{s['id']}/start", headers=writer)
    assert started.status_code == 200

    r = await patch(training, writer, s["id"], {"capacity": 5, "venue": "Hall B"})
    assert r.status_code == 409
    problem = r.json()
    assert problem["type"] == "/problems/wrong-state"
    assert problem["status_now"] == "running" and problem["fields"] == ["capacity"]
    assert (await counters(db, s["id"])).venue == s["venue"]
    # Sending the current values back is no change, so it is not refused.
    same = await patch(training, writer, s["id"], {"capacity": 2, "starts_on": s["starts_on"]})
    assert same.status_code == 200

    told_before = len(await events_of(training, writer, s["id"]))
    r = await patch(training, writer, s["id"], {"venue": "Hall B"})
    assert r.status_code == 200 and r.json()["venue"] == "Hall B"
    told = (await events_of(training, writer, s["id"]))[told_before:]
    assert {e["enrollment_id"] for e in told} == {b["id"] for b in booked}

    completed = await training.post(f"/v1/training-sessions/{s['id']}/complete", headers=writer)
    assert completed.status_code == 200
    for body in ({"venue": "Hall C"}, {}):
        r = await patch(training, writer, s["id"], body)
        assert r.status_code == 409 and r.json()["status_now"] == "completed"

    called_off = await create_session(training, writer)
    await training.post(
        f"/v1/training-sessions/{called_off['id']}/cancel",
        json={"reason": "organiser", "note": "Trainer ill"},
        headers=writer,
    )
    r = await patch(training, writer, called_off["id"], {"capacity": 4})
    assert r.status_code == 409 and r.json()["type"] == "/problems/wrong-state"


async def test_province_and_scope(training: httpx.AsyncClient, tokens: TokenFactory) -> None:
    national = tokens.headers("training:read", "training:write")
    nan = tokens.headers("training:read", "training:write", province="55")
    course = await create_course(training, national)
    bangkok = await create_session(training, national, course["id"], province_code="10")
    own = await create_session(training, nan, course["id"], province_code="55")

    r = await patch(training, nan, bangkok["id"], {"capacity": 5})
    assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"
    assert (await patch(training, nan, own["id"], {"capacity": 5})).status_code == 200
    reader = tokens.headers("training:read")
    assert (await patch(training, reader, own["id"], {"capacity": 6})).status_code == 403
    assert (await patch(training, {}, own["id"], {"capacity": 6})).status_code == 401
    missing = await patch(training, national, str(uuid.uuid4()), {"capacity": 6})
    assert missing.status_code == 404
