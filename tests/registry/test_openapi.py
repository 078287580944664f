"""The registry's OpenAPI document is complete enough to generate clean clients."""

from __future__ import annotations

import re

import httpx

PUBLIC = {
    "/v1/health",
    "/v1/health/ready",
    "/v1/oauth/token",
    "/v1/.well-known/jwks.json",
    "/v1/provinces",
    "/v1/provinces/{code}",
    "/v1/districts",
    "/v1/districts/{code}",
    "/v1/subdistricts",
    "/v1/subdistricts/{code}",
    "/v1/catalog/products",
    "/v1/groups/occupations",
    # People's sign-in: the app has no token yet (revocation authenticates the client).
    "/v1/oauth/authorize",
    "/v1/oauth/revoke",
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
}


async def test_every_operation_is_documented(registry: httpx.AsyncClient) -> None:
    doc = (await registry.get("/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    tags = {t["name"] for t in doc["tags"]}
    seen: set[str] = set()
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary") and op.get("description"), where
            [tag] = op["tags"]
            assert tag in tags, where
            assert re.fullmatch(r"[a-z][a-z0-9_]*", op["operationId"]), where
            assert op["operationId"] not in seen, where
            seen.add(op["operationId"])
            responses = op["responses"]
            # Any authenticated caller may ask these: never 403.
            if path not in PUBLIC and not path.startswith(("/v1/clients/me", "/v1/events")):
                assert {"401", "403"} <= set(responses), where
            if "{" in path:
                assert "404" in responses or path.startswith("/v1/provinces"), where
            for status, response in responses.items():
                if status.startswith("4"):
                    assert "application/problem+json" in response["content"], where
    # Named models only (clean generated clients).
    names = set(doc["components"]["schemas"])
    assert not [n for n in names if n.startswith("Page_") or "__" in n]
    assert {"WorkerOut", "GroupOut", "ImportReport", "CatalogPage", "StageChangeOut"} <= names
    assert "text/csv" in doc["paths"]["/v1/workers/import"]["post"]["requestBody"]["content"]


async def test_documented_examples_are_valid(registry: httpx.AsyncClient) -> None:
    from otog_registry.pii.national_id import is_valid

    doc = (await registry.get("/v1/openapi.json")).json()
    example = doc["components"]["schemas"]["WorkerCreate"]["examples"][0]
    assert is_valid(example["national_id"])
