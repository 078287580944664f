"""The national course catalogue."""

from __future__ import annotations

import httpx

from tests.support.tokens import TokenFactory
from tests.training.helpers import course_body, create_course, session_body


async def test_create_and_read_course(
    training: httpx.AsyncClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    r = await training.post("/v1/courses", json=course_body(code="SCB-T1"), headers=writer)
    assert r.status_code == 201, r.text
    course = r.json()
    assert course["code"] == "SCB-T1" and course["modes"] == ["onsite", "online"]
    assert r.headers["location"] == f"/v1/courses/{course['id']}"

    one = await training.get(f"/v1/courses/{course['id']}", headers=reader)
    assert one.status_code == 200 and one.json() == course
    assert one.headers["etag"].startswith('"')

    listed = await training.get("/v1/courses", headers=reader, params={"limit": 200})
    assert course["id"] in [c["id"] for c in listed.json()["items"]]


async def test_duplicate_code_is_409(training: httpx.AsyncClient, writer: dict[str, str]) -> None:
    await create_course(training, writer, code="DUP-1")
    r = await training.post("/v1/courses", json=course_body(code="DUP-1"), headers=writer)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/duplicate-course-code"


async def test_invalid_course_is_422_problem(
    training: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await training.post(
        "/v1/courses",
        json=course_body(code="bad code", hours=0, modes=["onsite", "onsite"]),
        headers=writer,
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"body.code", "body.hours", "body.modes"} <= fields
    r = await training.post("/v1/courses", json=course_body(modes=["classroom"]), headers=writer)
    assert r.status_code == 422


async def test_courses_are_national(training: httpx.AsyncClient, tokens: TokenFactory) -> None:
    provincial = tokens.headers("training:read", "training:write", province="55")
    r = await training.post("/v1/courses", json=course_body(), headers=provincial)
    assert r.status_code == 403 and r.json()["type"] == "/problems/forbidden"
    admin = tokens.headers("admin", province="55")
    assert (
        await training.post("/v1/courses", json=course_body(), headers=admin)
    ).status_code == 201
    # ...and every province reads the whole catalogue.
    national = await create_course(training, tokens.headers("training:write"))
    r = await training.get(f"/v1/courses/{national['id']}", headers=provincial)
    assert r.status_code == 200


async def test_scopes(training: httpx.AsyncClient, tokens: TokenFactory) -> None:
    assert (await training.get("/v1/courses")).status_code == 401
    r = await training.get("/v1/courses", headers=tokens.headers("registry:read"))
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem")
    r = await training.post(
        "/v1/courses", json=course_body(), headers=tokens.headers("training:read")
    )
    assert r.status_code == 403


async def test_course_pagination(
    training: httpx.AsyncClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    made = {(await create_course(training, writer, code=f"PG-{i}"))["id"] for i in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await training.get("/v1/courses", headers=reader, params=params)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert made <= set(seen) and len(seen) == len(set(seen))
    bad = await training.get("/v1/courses", headers=reader, params={"cursor": "WyJ4Il0"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"


async def test_change_a_course(
    training: httpx.AsyncClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    course = await create_course(training, writer, code="CHG-1")
    got = await training.get(f"/v1/courses/{course['id']}", headers=reader)
    etag = got.headers["etag"]

    r = await training.patch(
        f"/v1/courses/{course['id']}",
        json={"hours": 18, "title_en": "Social Commerce, extended"},
        headers={**writer, "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["hours"] == 18 and changed["title_en"] == "Social Commerce, extended"
    assert changed["code"] == "CHG-1" and changed["title_th"] == course["title_th"]
    assert r.headers["etag"] != etag
    now = await training.get(f"/v1/courses/{course['id']}", headers=reader)
    assert now.json() == changed and now.headers["etag"] == r.headers["etag"]

    stale = await training.patch(
        f"/v1/courses/{course['id']}", json={"hours": 20}, headers={**writer, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert (await training.get(f"/v1/courses/{course['id']}", headers=reader)).json()["hours"] == 18

    cleared = await training.patch(
        f"/v1/courses/{course['id']}", json={"description": None}, headers=writer
    )
    assert cleared.status_code == 200 and cleared.json()["description"] is None


async def test_invalid_course_changes(training: httpx.AsyncClient, writer: dict[str, str]) -> None:
    course = await create_course(training, writer)
    cases = [
        ({"title_th": None}, "body.title_th"),
        ({"hours": None}, "body.hours"),
        ({"modes": None}, "body.modes"),
        ({"hours": 0}, "body.hours"),
        ({"hours": "12"}, "body.hours"),
        ({"modes": []}, "body.modes"),
        ({"modes": ["online", "online"]}, "body.modes"),
        ({"title_en": ""}, "body.title_en"),
        ({"code": "NEW-CODE"}, "body.code"),
    ]
    for body, field in cases:
        r = await training.patch(f"/v1/courses/{course['id']}", json=body, headers=writer)
        assert r.status_code == 422, (body, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (body, r.json())
    after = await training.get(f"/v1/courses/{course['id']}", headers=writer)
    assert after.json() == course
    missing = await training.patch(
        "/v1/courses/00000000-0000-4000-8000-000000000000", json={"hours": 3}, headers=writer
    )
    assert missing.status_code == 404


async def test_course_changes_are_national(
    training: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    course = await create_course(training, tokens.headers("training:write"))
    provincial = tokens.headers("training:read", "training:write", province="55")
    r = await training.patch(f"/v1/courses/{course['id']}", json={"hours": 3}, headers=provincial)
    assert r.status_code == 403 and r.json()["type"] == "/problems/forbidden"
    reader = tokens.headers("training:read")
    r = await training.patch(f"/v1/courses/{course['id']}", json={"hours": 3}, headers=reader)
    assert r.status_code == 403
    admin = tokens.headers("admin", province="55")
    r = await training.patch(f"/v1/courses/{course['id']}", json={"hours": 3}, headers=admin)
    assert r.status_code == 200 and r.json()["hours"] == 3


async def test_a_mode_in_use_stays(training: httpx.AsyncClient, writer: dict[str, str]) -> None:
    course = await create_course(training, writer)
    online = await training.post(
        "/v1/training-sessions",
        json=session_body(course["id"], mode="online", online_url="https://meet.example/x"),
        headers=writer,
    )
    assert online.status_code == 201, online.text
    r = await training.patch(
        f"/v1/courses/{course['id']}", json={"modes": ["onsite"]}, headers=writer
    )
    assert r.status_code == 409
    problem = r.json()
    assert problem["type"] == "/problems/course-mode-in-use"
    assert problem["modes"] == ["online"] and problem["sessions"] == 1
    # Once that session is called off the mode may go; new online sessions are refused.
    await training.post(
        f"/v1/training-sessions/{online.json()['id']}/cancel",
        json={"reason": "organiser", "note": "Moved on site"},
        headers=writer,
    )
    r = await training.patch(
        f"/v1/courses/{course['id']}", json={"modes": ["onsite"]}, headers=writer
    )
    assert r.status_code == 200 and r.json()["modes"] == ["onsite"]
    again = await training.post(
        "/v1/training-sessions",
        json=session_body(course["id"], mode="online", online_url="https://meet.example/y"),
        headers=writer,
    )
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "body.mode"
