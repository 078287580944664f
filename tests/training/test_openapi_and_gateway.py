"""The training part of the public contract: its OpenAPI document, and booking
through the real gateway."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Stack
from tests.support.tokens import TokenFactory
from tests.training.helpers import course_body, create_worker, session_body

PUBLIC_PATHS = {
    ("get", "/v1/courses"),
    ("post", "/v1/courses"),
    ("post", "/v1/training-sessions"),
    ("get", "/v1/training-sessions"),
    ("get", "/v1/training-sessions/{session_id}"),
    ("post", "/v1/training-sessions/{session_id}/enrollments"),
    ("post", "/v1/enrollments/{enrollment_id}/cancel"),
    ("get", "/v1/enrollments/{enrollment_id}"),
    ("patch", "/v1/courses/{course_id}"),
    ("patch", "/v1/training-sessions/{session_id}"),
}


async def test_openapi_document(training: httpx.AsyncClient) -> None:
    r = await training.get("/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    operations = {
        (method, path): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "patch", "put", "delete"}
    }
    assert set(operations) >= PUBLIC_PATHS
    ids = [op["operationId"] for op in operations.values()]
    assert len(ids) == len(set(ids)) and all(ids)
    for (method, path), op in operations.items():
        assert op["tags"] and op["operationId"].isidentifier(), (method, path)
        assert op.get("summary") and op.get("description"), (method, path)
        if not path.startswith("/v1/health"):
            for status in ("401", "403", "422"):
                assert "application/problem+json" in op["responses"][status]["content"], (
                    method,
                    path,
                    status,
                )
    booking = operations[("post", "/v1/training-sessions/{session_id}/enrollments")]
    assert {"404", "409", "422", "503"} <= set(booking["responses"])
    assert booking["operationId"] == "create_enrollment"
    for path, name in (
        ("/v1/courses/{course_id}", "update_course"),
        ("/v1/training-sessions/{session_id}", "update_training_session"),
    ):
        change = operations[("patch", path)]
        assert change["operationId"] == name
        assert {"404", "409", "412", "422"} <= set(change["responses"])
        body = change["requestBody"]["content"]["application/json"]["schema"]
        assert body["$ref"].endswith("Update")


@pytest.mark.e2e
async def test_booking_through_the_gateway(live_stack: Stack, tokens: TokenFactory) -> None:
    headers = tokens.headers("training:read", "training:write")
    async with httpx.AsyncClient(base_url=live_stack.gateway_url, timeout=15) as gw:
        worker = await create_worker(gw, tokens)
        course = await gw.post("/v1/courses", json=course_body(), headers=headers)
        assert course.status_code == 201, course.text
        s = await gw.post(
            "/v1/training-sessions", json=session_body(course.json()["id"]), headers=headers
        )
        assert s.status_code == 201, s.text
        r = await gw.post(
            f"/v1/training-sessions/{s.json()['id']}/enrollments",
            json={"worker_id": worker},
            headers={**headers, "X-Request-ID": "booking-e2e-1"},
        )
        assert r.status_code == 201, r.text
        assert r.headers.get_list("x-request-id") == ["booking-e2e-1"]
        enrollment = r.json()
        assert enrollment["status"] == "confirmed"
        got = await gw.get(f"/v1/enrollments/{enrollment['id']}", headers=headers)
        assert got.status_code == 200 and got.json()["id"] == enrollment["id"]

        session_url = f"/v1/training-sessions/{s.json()['id']}"
        etag = (await gw.get(session_url, headers=headers)).headers["etag"]
        changed = await gw.patch(
            session_url, json={"capacity": 7}, headers={**headers, "If-Match": etag}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["capacity"] == 7 and changed.headers["etag"] != etag
        stale = await gw.patch(
            session_url, json={"capacity": 8}, headers={**headers, "If-Match": etag}
        )
        assert stale.status_code == 412
        assert stale.headers["content-type"].startswith("application/problem+json")
        cancelled = await gw.post(f"/v1/enrollments/{enrollment['id']}/cancel", headers=headers)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        missing = await gw.get(
            "/v1/enrollments/00000000-0000-4000-8000-000000000000", headers=headers
        )
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
