"""Post-processing of each service's OpenAPI document so it tells the truth about errors.

FastAPI documents validation errors as its own ``HTTPValidationError`` JSON;
ours are problem+json. Every operation with a body can also answer 400
(malformed JSON). Done once here so each service's document, and the merged
one built from them, agree with what the handlers send.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

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
                    response["content"] = _problem_content()
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    if "Problem" not in schemas:
        schemas.update(
            Problem.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {})
        )
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas["Problem"].pop("$defs", None)
    return document


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finalize(
                get_openapi(
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
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
