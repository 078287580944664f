"""Every create in the merged OpenAPI document takes an optional client-chosen `id`
and documents the 409 `/problems/id-conflict` it can answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DOCUMENT = Path(__file__).resolve().parents[2] / "deploy" / "openapi" / "openapi.json"

# Creates that name their resource otherwise: an API client gets a server-made
# `client_id` (and a secret shown once), and a user is named by the username chosen,
# which is already what makes a re-send harmless (409 for a taken username).
NOT_CLIENT_NAMED = {"/v1/clients", "/v1/users"}


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DOCUMENT.read_text())
    return document


def _creates() -> list[str]:
    """Paths whose POST answers 201 Created."""
    return sorted(
        path
        for path, item in _document()["paths"].items()
        if "post" in item and "201" in item["post"]["responses"]
    )


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_the_document_lists_the_creates_of_all_three_services() -> None:
    creates = set(_creates())
    assert {"/v1/workers", "/v1/training-sessions", "/v1/loans/{loan_id}/repayments"} <= creates
    assert creates >= NOT_CLIENT_NAMED


@pytest.mark.parametrize("path", [p for p in _creates() if p not in NOT_CLIENT_NAMED])
def test_every_create_takes_an_id_and_documents_the_conflict(path: str) -> None:
    document = _document()
    operation = document["paths"][path]["post"]
    body = _resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])
    field = body["properties"]["id"]
    assert "id" not in body.get("required", [])
    variants = field.get("anyOf", [field])
    assert {"type": "string", "format": "uuid"} in variants
    assert "/problems/id-conflict" in field["description"]

    conflict = operation["responses"]["409"]
    assert "/problems/id-conflict" in conflict["description"]
    assert conflict["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }


@pytest.mark.parametrize("path", sorted(NOT_CLIENT_NAMED))
def test_creates_named_otherwise_take_no_id(path: str) -> None:
    document = _document()
    operation = document["paths"][path]["post"]
    body = _resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])
    assert "id" not in body["properties"]


def test_posts_that_create_nothing_take_no_id() -> None:
    document = _document()
    for path, item in document["paths"].items():
        operation = item.get("post")
        if operation is None or "201" in operation["responses"]:
            continue
        content = operation.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is not None:
            assert "id" not in _resolve(document, schema).get("properties", {}), path
