"""Every JSON request body of every service is a RequestModel (JSON types taken at their word)."""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from otog_devstack.openapi import _settings_class
from otog_devstack.stack import SERVICES
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
