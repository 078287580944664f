"""The training service's OpenAPI says what its API does: each rule the request models
apply about which fields go together is in the JSON schema a client generates from,
and the two accept exactly the same bodies."""

from __future__ import annotations

import itertools
import tempfile
import typing
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi.routing import APIRoute
from otog_shared.schemas import PatchModel, RequestModel
from pydantic import BaseModel, ValidationError

from tests.training.helpers import create_session

ABSENT = object()


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from otog_training.main import create_app
    from otog_training.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        doc: dict[str, Any] = create_app(Settings(data_dir=Path(tmp))).openapi()
    return doc


def accepts_schema(document: dict[str, Any], component: str, body: Any) -> bool:
    root = {
        "$ref": f"#/components/schemas/{component}",
        "components": {"schemas": document["components"]["schemas"]},
    }
    return bool(jsonschema_rs.Draft202012Validator(root, validate_formats=True).is_valid(body))


def accepts_model(model: Any, body: Any) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


def bodies(base: dict[str, Any], **choices: list[Any]) -> list[dict[str, Any]]:
    """Every combination of the choices on top of ``base`` (ABSENT leaves a field out)."""
    made = []
    for values in itertools.product(*choices.values()):
        body = dict(base)
        for name, value in zip(choices, values, strict=True):
            if value is not ABSENT:
                body[name] = value
        made.append(body)
    return made


PLACES = {
    "venue": [ABSENT, None, "Hall A", "   ", ""],
    "online_url": [ABSENT, None, "https://meet.example.org/a", "ftp://files.example/a"],
}


def test_session_create_says_the_place_each_mode_needs(document: dict[str, Any]) -> None:
    from otog_training.sessions.schemas import SessionCreate

    base = {
        "course_id": "0b7e2a8c-3c0e-4c1e-9d8b-5f7a1c2e4d6f",
        "province_code": "55",
        "starts_on": "2025-02-10",
        "ends_on": "2025-02-11",
        "capacity": 300,
    }
    cases = bodies(base, mode=[ABSENT, "onsite", "online", "hybrid"], **PLACES)
    accepted = 0
    for body in cases:
        model = accepts_model(SessionCreate, body)
        assert model == accepts_schema(document, "SessionCreate", body), body
        accepted += model
    assert 0 < accepted < len(cases)


def test_session_schemas_stay_plain_objects(document: dict[str, Any]) -> None:
    """The rule is an if/then/else at the top of each object: no oneOf/anyOf/allOf
    there, which typed-client generators turn into interfaces or stray models."""
    for name in ("SessionCreate", "SessionUpdate", "SessionRead", "SessionCancel"):
        schema = document["components"]["schemas"][name]
        assert schema["type"] == "object" and "properties" in schema, name
        assert not {"oneOf", "anyOf", "allOf"} & set(schema), name
        assert "if" in schema and "then" in schema, name


def test_session_create_errors_name_the_field_sent() -> None:
    from otog_training.sessions.schemas import SessionCreate

    base = {
        "course_id": "0b7e2a8c-3c0e-4c1e-9d8b-5f7a1c2e4d6f",
        "province_code": "55",
        "starts_on": "2025-02-10",
        "ends_on": "2025-02-11",
        "capacity": 300,
    }
    for mode, field in (("onsite", "venue"), ("online", "online_url")):
        with pytest.raises(ValidationError) as caught:
            SessionCreate.model_validate({**base, "mode": mode})
        assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_session_update_says_switching_mode_needs_its_place(document: dict[str, Any]) -> None:
    from otog_training.sessions.schemas import SessionUpdate

    cases = bodies({}, mode=[ABSENT, "onsite", "online", "hybrid"], **PLACES)
    accepted = 0
    for body in cases:
        model = accepts_model(SessionUpdate, body)
        assert model == accepts_schema(document, "SessionUpdate", body), body
        accepted += model
    assert 0 < accepted < len(cases)


def test_session_cancel_says_an_organiser_gives_a_note(document: dict[str, Any]) -> None:
    from otog_training.sessions.schemas import SessionCancel

    cases = bodies(
        {},
        reason=[ABSENT, "below_minimum", "organiser", "weather"],
        note=[ABSENT, None, "", "  ", "Venue flooded"],
    )
    accepted = 0
    for body in cases:
        model = accepts_model(SessionCancel, body)
        assert model == accepts_schema(document, "SessionCancel", body), body
        accepted += model
    assert 0 < accepted < len(cases)


def _routes() -> list[APIRoute]:
    from otog_training.main import create_app
    from otog_training.settings import Settings

    from tests.test_request_bodies import _api_routes

    with tempfile.TemporaryDirectory() as tmp:
        return _api_routes(create_app(Settings(data_dir=Path(tmp))).routes)


def _body_models(route: APIRoute) -> list[type[BaseModel]]:
    assert route.body_field is not None
    annotation = route.body_field.field_info.annotation
    members = typing.get_args(annotation) or (annotation,)
    return [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]


def test_every_body_is_a_request_model_and_patches_are_patch_models() -> None:
    checked = 0
    for route in _routes():
        if route.body_field is None:
            continue
        models = _body_models(route)
        assert models, route.path
        for model in models:
            checked += 1
            assert issubclass(model, RequestModel), (route.path, model)
            if "PATCH" in route.methods:
                assert issubclass(model, PatchModel), (route.path, model)
    assert checked >= 8


def test_patch_schemas_make_nullable_only_what_may_be_emptied(document: dict[str, Any]) -> None:
    patched = 0
    for route in _routes():
        if "PATCH" not in route.methods:
            continue
        for model in _body_models(route):
            assert issubclass(model, PatchModel)
            patched += 1
            schema = document["components"]["schemas"][model.__name__]
            nullable = {
                name
                for name, prop in schema["properties"].items()
                if {"type": "null"} in prop.get("anyOf", []) or prop.get("type") == "null"
            }
            assert nullable == set(model.clearable), model.__name__
            for name in set(schema["properties"]) - nullable:
                assert not accepts_model(model, {name: None}), (model.__name__, name)
    assert patched == 2


async def test_responses_match_the_session_schema(
    training: httpx.AsyncClient, writer: dict[str, str], document: dict[str, Any]
) -> None:
    onsite = await create_session(training, writer)
    online = await create_session(
        training, writer, mode="online", venue=None, online_url="https://meet.example.org/b"
    )
    for made in (onsite, online):
        assert accepts_schema(document, "SessionRead", made), made
        got = await training.get(f"/v1/training-sessions/{made['id']}", headers=writer)
        assert accepts_schema(document, "SessionRead", got.json())
    # The schema holds them apart: an onsite session without a venue is not one.
    assert not accepts_schema(document, "SessionRead", {**onsite, "venue": None})
    assert not accepts_schema(document, "SessionRead", {**online, "online_url": None})
    listed = await training.get("/v1/training-sessions", headers=writer, params={"limit": 200})
    assert accepts_schema(document, "Page_SessionRead_", listed.json())
