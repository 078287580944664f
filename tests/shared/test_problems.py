"""problem+json for every error, and the request id round trip, on the shared app factory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import APIRouter, FastAPI
from otog_shared.app import create_app
from otog_shared.errors import Conflict
from otog_shared.settings import ServiceSettings
from pydantic import BaseModel, Field

from tests.support.stack import Databases

router = APIRouter(prefix="/v1/things", tags=["things"])


class Thing(BaseModel):
    name: str = Field(min_length=1)
    count: int = Field(ge=0)


@router.post("", status_code=201)
async def create_thing(thing: Thing) -> Thing:
    return thing


# Declared before the static `/boom` and `/conflict` beside them, on purpose.
@router.get("/{thing_id}")
async def get_thing(thing_id: uuid.UUID) -> dict[str, str]:
    return {"id": str(thing_id)}


@router.delete("/{thing_id}", status_code=204)
async def delete_thing(thing_id: uuid.UUID) -> None:
    return None


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("SELECT secret FROM workers -- internal detail")


@router.get("/conflict")
async def conflict() -> None:
    raise Conflict("Already there.", current_status="approved")


@pytest_asyncio.fixture(scope="module")
async def client(databases: Databases) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(
        ServiceSettings(database_url=databases.urls["training"], log_json=False),
        service="test",
        title="test",
        description="test",
        routers=[router],
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"] == f"/problems/{slug}"
    assert body["title"] and body["detail"]
    return body


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/things", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert_problem(r, 400, "bad-request")


async def test_invalid_values_are_422_with_field_errors(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/things", json={"name": "", "count": -1})
    body = assert_problem(r, 422, "validation-error")
    fields = {e["field"] for e in body["errors"]}  # type: ignore[attr-defined]
    assert fields == {"body.name", "body.count"}


async def test_validation_errors_do_not_echo_input(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/things", json={"name": "x", "count": "1101700203451x"})
    assert r.status_code == 422
    assert "1101700203451x" not in r.text


async def test_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/nothing-here"), 404, "not-found")


async def test_wrong_method_is_405_naming_every_method_of_the_path(
    client: httpx.AsyncClient,
) -> None:
    r = await client.delete("/v1/things")
    assert_problem(r, 405, "method-not-allowed")
    assert r.headers["allow"] == "OPTIONS, POST"
    # Two routes (GET and DELETE) share this path: Allow names both, not the first one's.
    r = await client.patch(f"/v1/things/{uuid.uuid4()}")
    assert_problem(r, 405, "method-not-allowed")
    assert r.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
    for method in ("PUT", "TRACE", "QUERY", "FROBNICATE"):
        r = await client.request(method, "/v1/things")
        assert r.status_code == 405 and r.headers["allow"] == "OPTIONS, POST", method


async def test_a_static_segment_is_not_taken_for_a_uuid_parameter(
    client: httpx.AsyncClient,
) -> None:
    r = await client.delete("/v1/things/boom")
    assert_problem(r, 405, "method-not-allowed")
    assert r.headers["allow"] == "GET, HEAD, OPTIONS"
    r = await client.get("/v1/things/conflict")
    assert_problem(r, 409, "conflict")


async def test_an_id_that_is_not_a_uuid_names_nothing(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/things/not-a-uuid"), 404, "not-found")
    assert_problem(await client.delete("/v1/things/12345"), 404, "not-found")
    thing_id = uuid.uuid4()
    r = await client.get(f"/v1/things/{thing_id}")
    assert r.status_code == 200 and r.json() == {"id": str(thing_id)}
    assert (await client.delete(f"/v1/things/{thing_id}")).status_code == 204


async def test_options_lists_the_methods_of_the_path(client: httpx.AsyncClient) -> None:
    r = await client.options(f"/v1/things/{uuid.uuid4()}")
    assert r.status_code == 204 and r.content == b""
    assert r.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
    assert (await client.options("/v1/nothing-here")).status_code == 404


async def test_head_answers_like_get_without_the_body(client: httpx.AsyncClient) -> None:
    thing_id = uuid.uuid4()
    get = await client.get(f"/v1/things/{thing_id}")
    head = await client.head(f"/v1/things/{thing_id}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-type"] == get.headers["content-type"]
    assert (await client.head("/v1/things/not-a-uuid")).status_code == 404
    assert (await client.head("/v1/things")).status_code == 405


async def test_unhandled_error_is_500_without_internals(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/things/boom")
    body = assert_problem(r, 500, "internal-error")
    assert "SELECT" not in r.text and "Traceback" not in r.text
    assert body["request_id"] == r.headers["x-request-id"]


async def test_typed_problem_carries_extension_members(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/v1/things/conflict"), 409, "conflict")
    assert body["current_status"] == "approved"


async def test_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/health", headers={"X-Request-ID": "abc-123.def"})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "abc-123.def"


async def test_unsafe_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces"
    assert len(r.headers["x-request-id"]) == 32


async def test_request_id_generated_when_absent(client: httpx.AsyncClient) -> None:
    a = await client.get("/v1/health")
    b = await client.get("/v1/health")
    assert a.headers["x-request-id"] != b.headers["x-request-id"]


async def test_readiness_touches_the_database(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/health/ready")
    assert r.status_code == 200 and r.json()["status"] == "ready"


async def test_operation_ids_are_the_function_names(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/v1/openapi.json")).json()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert "create_thing" in ids and "liveness" in ids


async def test_missing_required_body_is_422(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/things", headers={"content-type": "application/json"})
    body = assert_problem(r, 422, "validation-error")
    assert body["errors"][0]["field"] == "body"  # type: ignore[index]
