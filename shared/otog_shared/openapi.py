"""Post-processing of each service's OpenAPI document so it tells the truth about errors.

FastAPI documents validation errors as its own ``HTTPValidationError`` JSON;
ours are problem+json. Every operation with a body can also answer 400
(malformed JSON). Done once here so each service's document, and the merged
one built from them, agree with what the handlers send.

FastAPI also drops every ``null`` from the document it builds, examples
included (fastapi/fastapi#5559), which leaves response examples without their
nullable fields and so invalid against their own schemas. The examples are put
back as the models wrote them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi._compat import get_definitions, get_flat_models_from_fields, get_model_name_map
from fastapi.openapi.utils import get_fields_from_routes, get_openapi
from starlette.routing import BaseRoute

from otog_shared.errors import PROBLEM_MEDIA_TYPE, Problem

METHODS = ("get", "put", "post", "delete", "patch")
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": dict(PROBLEM_REF)}}


def finalize(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for item in document.get("paths", {}).values():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                responses.setdefault("400", {"description": "Malformed request."})
            if "422" in responses:
                responses["422"]["description"] = "Valid JSON but invalid values."
            for status, response in responses.items():
                if status[0] in "45":
                    # A page (the sign-in page) answers its own refusals as HTML too.
                    html = response.get("content", {}).get("text/html")
                    response["content"] = _problem_content()
                    if html is not None:
                        response["content"]["text/html"] = html
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    if "Problem" not in schemas:
        schemas.update(
            Problem.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {})
        )
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas["Problem"].pop("$defs", None)
    return document


def _schema_definitions(
    routes: Sequence[BaseRoute], separate_input_output_schemas: bool
) -> dict[str, Any]:
    """The component schemas as pydantic made them, before FastAPI's encoding (same steps)."""
    fields = get_fields_from_routes(list(routes))
    model_name_map = get_model_name_map(get_flat_models_from_fields(fields, known_models=set()))
    _, definitions = get_definitions(
        fields=fields,
        model_name_map=model_name_map,
        separate_input_output_schemas=separate_input_output_schemas,
    )
    return definitions


def _copy_examples(source: Any, target: Any) -> None:
    """Put every schema's `examples` list of ``source`` into the same place in ``target``."""
    if isinstance(source, dict) and isinstance(target, dict):
        for key, value in source.items():
            if key == "examples" and isinstance(value, list):
                target[key] = copy.deepcopy(value)
            elif key in target:
                _copy_examples(value, target[key])
    elif isinstance(source, list) and isinstance(target, list) and len(source) == len(target):
        for source_item, target_item in zip(source, target, strict=True):
            _copy_examples(source_item, target_item)


def restore_null_examples(
    document: dict[str, Any], routes: Sequence[BaseRoute], separate_input_output_schemas: bool
) -> dict[str, Any]:
    schemas = document.get("components", {}).get("schemas", {})
    for name, raw in _schema_definitions(routes, separate_input_output_schemas).items():
        if name in schemas:
            _copy_examples(raw, schemas[name])
    return document


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
            restore_null_examples(document, app.routes, app.separate_input_output_schemas)
            app.openapi_schema = finalize(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
