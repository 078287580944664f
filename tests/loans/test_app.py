"""The service's wiring: commits before responding, and a complete OpenAPI document."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from otog_shared.db import get_db_session


def _session_dependants(dependant: Dependant) -> list[Dependant]:
    found = [d for d in dependant.dependencies if d.call is get_db_session]
    for sub in dependant.dependencies:
        found += _session_dependants(sub)
    return found


def test_every_endpoint_commits_before_it_responds() -> None:
    from otog_loan_ledger.main import ROUTERS

    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) == 20
    using_db = 0
    for route in routes:
        for dependant in _session_dependants(route.dependant):
            using_db += 1
            assert dependant.scope == "function", route.path
    assert using_db >= 20


def test_openapi_document(loans_app: FastAPI) -> None:
    doc = loans_app.openapi()
    operations = [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if path.startswith("/v1/funds") or path.startswith("/v1/loans")
    ]
    assert len(operations) == 20
    for path, method, op in operations:
        assert ":" in op["operationId"], (path, method)
        assert op["summary"] and op.get("description"), (path, method)
        assert op["tags"], (path, method)
        assert "401" in op["responses"] and "403" in op["responses"], (path, method)
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                assert "application/problem+json" in response["content"], (path, status)
    repay = doc["paths"]["/v1/loans/{loan_id}/repayments"]["post"]
    header = next(p for p in repay["parameters"] if p["name"] == "Idempotency-Key")
    assert header["required"] is True
    approve = doc["paths"]["/v1/loans/{loan_id}/approve"]["post"]
    assert "409" in approve["responses"]
    assert "503" in doc["paths"]["/v1/loans"]["post"]["responses"]
