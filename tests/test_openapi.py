"""The merged OpenAPI document: current, complete and clash-free."""

from __future__ import annotations

import json
from typing import Any

import pytest
from otog_devstack import openapi

METHODS = openapi.METHODS


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi.merge(openapi.service_documents())


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_committed_document_is_current(document: dict[str, Any]) -> None:
    committed = json.loads(openapi.OUTPUT.read_text(encoding="utf-8"))
    assert committed == document, "deploy/openapi/openapi.json is stale: run `make openapi`"


def test_every_operation_is_documented(document: dict[str, Any]) -> None:
    ids = []
    for path, method, op in operations(document):
        where = f"{method.upper()} {path}"
        assert op.get("operationId"), where
        tag, _, name = op["operationId"].partition(":")
        assert tag and name and tag in op["tags"], where
        assert op.get("summary"), where
        assert op.get("description"), where
        statuses = set(op["responses"])
        assert "429" in statuses and "503" in statuses, where
        if op.get("security"):
            assert {"401", "403"} <= statuses, where
        ids.append(op["operationId"])
    assert len(ids) == len(set(ids))


def test_errors_use_the_problem_schema(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        for status, response in op["responses"].items():
            if status[0] in "45":
                content = response.get("content", {})
                assert list(content) == ["application/problem+json"], f"{method} {path} {status}"


def test_oauth2_client_credentials_scheme(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["OAuth2"]
    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/v1/oauth/token"
    assert {"registry:read", "loans:approve", "pii:read", "admin"} <= set(flow["scopes"])


def test_schema_clashes_are_refused() -> None:
    a = {"components": {"schemas": {"Thing": {"type": "object"}}}, "paths": {}}
    b = {"components": {"schemas": {"Thing": {"type": "string"}}}, "paths": {}}
    with pytest.raises(openapi.SchemaClash):
        openapi.merge({"registry": a, "training": b})
