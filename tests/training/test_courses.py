"""The national course catalogue."""

from __future__ import annotations

import httpx

from tests.support.tokens import TokenFactory
from tests.training.helpers import course_body, create_course


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
