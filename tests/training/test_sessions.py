"""Training sessions: scheduling, province rules, lifecycle."""

from __future__ import annotations

import httpx

from tests.support.tokens import TokenFactory
from tests.training.helpers import create_course, create_session, day, past, session_body


async def test_schedule_session(
    training: httpx.AsyncClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    course = await create_course(training, writer)
    r = await training.post(
        "/v1/training-sessions",
        json=session_body(
            course["id"],
            province_code="55",
            capacity=300,
            minimum=None,
            enrollment_closes_at="2099-01-01T10:00:00Z",
            starts_on="2099-01-05",
            ends_on="2099-01-06",
        ),
        headers=writer,
    )
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["status"] == "open" and s["minimum"] == 100 and s["capacity"] == 300
    assert s["confirmed_count"] == 0 and s["waitlist_count"] == 0 and s["seats_left"] == 300
    # Shown in Bangkok time.
    assert s["enrollment_closes_at"] == "2099-01-01T17:00:00+07:00"

    got = await training.get(f"/v1/training-sessions/{s['id']}", headers=reader)
    assert got.status_code == 200 and got.json() == s and "etag" in got.headers


async def test_default_minimum_and_closing(
    training: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    s = await create_session(
        training, writer, capacity=40, minimum=None, starts_on="2099-03-01", ends_on="2099-03-01"
    )
    assert s["minimum"] == 40
    assert s["enrollment_closes_at"] == "2099-03-01T00:00:00+07:00"


async def test_session_validation(training: httpx.AsyncClient, writer: dict[str, str]) -> None:
    course = await create_course(training, writer, modes=["onsite"])
    cases = [
        ({"capacity": 501}, "body.capacity"),
        ({"capacity": 0}, "body.capacity"),
        ({"capacity": 10, "minimum": 11}, "body.minimum"),
        ({"mode": "online", "online_url": "https://meet.example/x"}, "body.mode"),
        ({"venue": None}, "body.venue"),
        ({"province_code": "99"}, "body.province_code"),
        ({"province_code": "1"}, "body.province_code"),
        ({"starts_on": "2099-02-02", "ends_on": "2099-02-01"}, "body.ends_on"),
        (
            {
                "starts_on": "2099-02-02",
                "ends_on": "2099-02-02",
                "enrollment_closes_at": "2099-02-02T09:00:00+07:00",
            },
            "body.enrollment_closes_at",
        ),
        ({"enrollment_closes_at": "2099-01-01T10:00:00"}, "body.enrollment_closes_at"),
        ({"enrollment_closes_at": 0}, "body.enrollment_closes_at"),
        ({"course_id": "00000000-0000-4000-8000-000000000000"}, "body.course_id"),
    ]
    for overrides, field in cases:
        body = {**session_body(course["id"]), **overrides}
        r = await training.post("/v1/training-sessions", json=body, headers=writer)
        assert r.status_code == 422, (overrides, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in r.json()["errors"]}, (overrides, r.json())


async def test_online_session_needs_link(
    training: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    course = await create_course(training, writer)
    body = session_body(course["id"], mode="online", venue=None)
    r = await training.post("/v1/training-sessions", json=body, headers=writer)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.online_url"
    body["online_url"] = "https://meet.example/otog-edc"
    assert (
        await training.post("/v1/training-sessions", json=body, headers=writer)
    ).status_code == 201


async def test_province_restriction(training: httpx.AsyncClient, tokens: TokenFactory) -> None:
    national = tokens.headers("training:read", "training:write")
    nan = tokens.headers("training:read", "training:write", province="55")
    course = await create_course(training, national)

    r = await training.post(
        "/v1/training-sessions", json=session_body(course["id"], province_code="10"), headers=nan
    )
    assert r.status_code == 403 and r.json()["type"] == "/problems/forbidden"
    own = await create_session(training, nan, course["id"], province_code="55")
    bangkok = await create_session(training, national, course["id"], province_code="10")

    assert (
        await training.get(f"/v1/training-sessions/{own['id']}", headers=nan)
    ).status_code == 200
    hidden = await training.get(f"/v1/training-sessions/{bangkok['id']}", headers=nan)
    assert hidden.status_code == 404 and hidden.json()["type"] == "/problems/not-found"
    r = await training.post(f"/v1/training-sessions/{bangkok['id']}/start", headers=nan)
    assert r.status_code == 404

    listed = await training.get(
        "/v1/training-sessions", headers=nan, params={"course_id": course["id"]}
    )
    assert [s["id"] for s in listed.json()["items"]] == [own["id"]]
    other = await training.get("/v1/training-sessions", headers=nan, params={"province": "10"})
    assert other.json()["items"] == []
    everything = await training.get(
        "/v1/training-sessions", headers=national, params={"course_id": course["id"]}
    )
    assert {s["id"] for s in everything.json()["items"]} == {own["id"], bangkok["id"]}


async def test_list_filters_and_order(
    training: httpx.AsyncClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    course = await create_course(training, writer)
    later = await create_session(
        training, writer, course["id"], starts_on=day(60).isoformat(), ends_on=day(60).isoformat()
    )
    sooner = await create_session(
        training, writer, course["id"], starts_on=day(40).isoformat(), ends_on=day(41).isoformat()
    )
    r = await training.get(
        "/v1/training-sessions",
        headers=reader,
        params={"course_id": course["id"], "status": "open", "limit": 1},
    )
    page = r.json()
    assert [s["id"] for s in page["items"]] == [sooner["id"]] and page["next_cursor"]
    r = await training.get(
        "/v1/training-sessions",
        headers=reader,
        params={"course_id": course["id"], "limit": 1, "cursor": page["next_cursor"]},
    )
    assert [s["id"] for s in r.json()["items"]] == [later["id"]]
    r = await training.get(
        "/v1/training-sessions",
        headers=reader,
        params={"course_id": course["id"], "mode": "online"},
    )
    assert r.json()["items"] == []


async def test_cancel_needs_closed_booking_and_shortfall(
    training: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    still_open = await create_session(training, writer)
    r = await training.post(f"/v1/training-sessions/{still_open['id']}/cancel", headers=writer)
    assert r.status_code == 409 and r.json()["type"] == "/problems/wrong-state"

    closed = await create_session(training, writer, enrollment_closes_at=past())
    r = await training.post(
        f"/v1/training-sessions/{closed['id']}/cancel",
        json={"reason": "below_minimum"},
        headers=writer,
    )
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["status"] == "cancelled" and s["cancel_reason"] == "below_minimum"
    again = await training.post(f"/v1/training-sessions/{closed['id']}/cancel", headers=writer)
    assert again.status_code == 409


async def test_organiser_cancel_needs_note(
    training: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    s = await create_session(training, writer)
    r = await training.post(
        f"/v1/training-sessions/{s['id']}/cancel", json={"reason": "organiser"}, headers=writer
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.note"
    r = await training.post(
        f"/v1/training-sessions/{s['id']}/cancel",
        json={"reason": "organiser", "note": "Venue flooded"},
        headers=writer,
    )
    assert r.status_code == 200 and r.json()["cancel_note"] == "Venue flooded"


async def test_start_needs_confirmed(training: httpx.AsyncClient, writer: dict[str, str]) -> None:
    s = await create_session(training, writer)
    r = await training.post(f"/v1/training-sessions/{s['id']}/start", headers=writer)
    assert r.status_code == 409 and r.json()["status_now"] == "open"
    r = await training.post(f"/v1/training-sessions/{s['id']}/complete", headers=writer)
    assert r.status_code == 409


async def test_unknown_session_is_404(training: httpx.AsyncClient, reader: dict[str, str]) -> None:
    r = await training.get(
        "/v1/training-sessions/00000000-0000-4000-8000-000000000000", headers=reader
    )
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem")
    r = await training.get("/v1/training-sessions/not-a-uuid", headers=reader)
    assert r.status_code == 404
