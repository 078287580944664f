"""Wiring every service must share: JSON request bodies are RequestModels (JSON types taken
at their word), and every endpoint that uses the database commits before it responds."""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from otog_devstack.openapi import _settings_class
from otog_devstack.stack import SERVICES
from otog_shared.db import get_db_session
from otog_shared.schemas import RequestModel
from pydantic import BaseModel


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """APIRoutes, also those inside included routers (kept lazily by FastAPI)."""
    flat: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            flat.append(route)
        elif hasattr(route, "original_router"):
            flat.extend(_api_routes(route.original_router.routes))
    return flat


def app_routes(package: str) -> list[APIRoute]:
    main = importlib.import_module(f"{package}.main")
    with tempfile.TemporaryDirectory() as tmp:
        app = main.create_app(_settings_class(package)(data_dir=Path(tmp)))
    return _api_routes(app.routes)


def _session_dependants(dependant: Dependant) -> list[Dependant]:
    found = [d for d in dependant.dependencies if d.call is get_db_session]
    for sub in dependant.dependencies:
        found += _session_dependants(sub)
    return found


@pytest.mark.parametrize("spec", SERVICES, ids=[s.name for s in SERVICES])
def test_every_endpoint_commits_before_it_responds(spec: object) -> None:
    from otog_devstack.stack import ServiceSpec

    assert isinstance(spec, ServiceSpec)
    using_db = 0
    for route in app_routes(spec.package):
        for dependant in _session_dependants(route.dependant):
            using_db += 1
            assert dependant.scope == "function", f"{route.path} commits after responding"
    assert using_db > 0


def json_body_models(package: str) -> list[tuple[str, type[BaseModel]]]:
    main = importlib.import_module(f"{package}.main")
    with tempfile.TemporaryDirectory() as tmp:
        app = main.create_app(_settings_class(package)(data_dir=Path(tmp)))
    found = []
    for route in _api_routes(app.routes):
        if route.body_field is None:
            continue
        if "form" in type(route.body_field.field_info).__name__.lower():
            continue  # form fields arrive as strings; nothing to coerce
        model = route.body_field.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            found.append((f"{sorted(route.methods)[0]} {route.path}", model))
    return found


@pytest.mark.parametrize("spec", SERVICES, ids=[s.name for s in SERVICES])
def test_json_bodies_are_request_models(spec: object) -> None:
    from otog_devstack.stack import ServiceSpec

    assert isinstance(spec, ServiceSpec)
    offenders = [
        f"{where}: {model.__name__}"
        for where, model in json_body_models(spec.package)
        if not issubclass(model, RequestModel)
    ]
    assert not offenders, "request bodies must subclass otog_shared.schemas.RequestModel"
