"""The loan ledger's request schemas say what the API does: every body is a
RequestModel (optional bodies too), a field the schema declares nullable is
accepted as null, one it does not is refused, and the Idempotency-Key header is
documented as the code checks it."""

from __future__ import annotations

import re
import tempfile
import typing
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from otog_shared.schemas import RequestModel
from pydantic import BaseModel

from tests.loans.conftest import THB, Flow, fund_body

# (schema, field) → what null means there.
NULLABLE = {
    ("FundCreate", "funding_source"),  # no named source
    ("FundCreate", "province_code"),  # a national fund
    ("LoanActionRequest", "note"),
    ("DisbursementRequest", "note"),
    ("RepaymentCreate", "reference"),
    # A client-chosen id (otog_shared.client_ids): null, like leaving it out, lets the
    # server choose.
    ("FundCreate", "id"),
    ("FundTopUpCreate", "id"),
    ("LoanApply", "id"),
    ("RepaymentCreate", "id"),
}


def build_app() -> FastAPI:
    from otog_loan_ledger.main import create_app
    from otog_loan_ledger.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        return create_app(Settings(data_dir=Path(tmp)))


def body_models(annotation: Any) -> list[type[BaseModel]]:
    """The models a body annotation admits (``X | None`` included)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in body_models(arg)]


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """APIRoutes, also those inside included routers (kept lazily by FastAPI)."""
    flat: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            flat.append(route)
        elif hasattr(route, "original_router"):
            flat.extend(api_routes(route.original_router.routes))
    return flat


def test_every_body_is_a_request_model() -> None:
    found = {}
    for route in api_routes(build_app().routes):
        if route.body_field is not None:
            models = body_models(route.body_field.field_info.annotation)
            assert models, route.path
            for model in models:
                found[f"{route.path} {model.__name__}"] = issubclass(model, RequestModel)
    assert len(found) == 10, found  # the four loan actions with an optional body among them
    assert all(found.values()), [where for where, ok in found.items() if not ok]


def test_nullable_fields_in_the_document_are_exactly_those_accepted_as_null() -> None:
    document = build_app().openapi()
    schemas = document["components"]["schemas"]
    declared = set()
    for path_item in document["paths"].values():
        for operation in path_item.values():
            body = operation.get("requestBody")
            if body is None:
                continue
            schema = body["content"]["application/json"]["schema"]
            for ref in [schema, *schema.get("anyOf", [])]:
                if "$ref" not in ref:
                    continue
                name = ref["$ref"].rsplit("/", 1)[1]
                for field, prop in schemas[name]["properties"].items():
                    if {"type": "null"} in prop.get("anyOf", []) or prop.get("type") == "null":
                        declared.add((name, field))
    assert declared == NULLABLE


def test_the_idempotency_key_header_is_documented_as_checked() -> None:
    from otog_loan_ledger.idempotency.service import KEY_PATTERN

    document = build_app().openapi()
    required = {}
    for path, path_item in document["paths"].items():
        for method, operation in path_item.items():
            for parameter in operation.get("parameters", []):
                if "$ref" in parameter:  # shared parameters: the Idempotency-Key header
                    name = parameter["$ref"].rsplit("/", 1)[1]
                    parameter = document["components"]["parameters"][name]
                if parameter["name"] == "Idempotency-Key":
                    schema = parameter["schema"]
                    assert schema["type"] == "string" and "anyOf" not in schema
                    assert (schema["minLength"], schema["maxLength"]) == (1, 255)
                    pattern = re.compile(schema["pattern"])
                    for key in ("a", str(uuid.uuid4()), "x" * 255, "a b", "ก", "a\t"):
                        in_schema = bool(pattern.match(key)) and len(key) <= 255
                        assert in_schema == bool(KEY_PATTERN.match(key)), key
                    required[f"{method.upper()} {path}"] = parameter["required"]
            assert "x-otog-idempotency-key-required" not in operation
    assert {where for where, yes in required.items() if yes} == {
        "POST /v1/loans/{loan_id}/repayments",
        "POST /v1/funds/{fund_id}/top-ups",
    }
    # Every POST: the nine that always took it, and creating a fund.
    assert len(required) == 10


async def test_null_is_accepted_where_the_document_allows_it(flow: Flow) -> None:
    officer = flow.auth.officer()
    r = await flow.client.post(
        "/v1/funds",
        json=fund_body(funding_source=None, province_code=None, id=None),
        headers=officer,
    )
    assert r.status_code == 201, r.text
    fund = r.json()
    assert fund["funding_source"] is None and fund["province_code"] is None

    loan = await flow.apply(fund, 240_000 * THB)
    r = await flow.act(loan, "approve", {"note": None})
    assert r.status_code == 200, r.text
    assert r.json()["decision_note"] is None
    r = await flow.act(loan, "disburse", {"disbursed_on": "2025-01-15", "note": None})
    assert r.status_code == 200, r.text
    r = await flow.client.post(
        f"/v1/loans/{loan['id']}/repayments",
        json={"amount_satang": 10_000 * THB, "paid_on": "2025-02-15", "reference": None},
        headers=flow.auth.with_key(officer),
    )
    assert r.status_code == 201, r.text
    assert r.json()["reference"] is None

    # The optional body of the loan actions: absent, null or an object alike.
    for body in (None, {"note": None}):
        other = await flow.apply(fund, 50_000 * THB)
        r = await flow.client.post(
            f"/v1/loans/{other['id']}/reject",
            content=b"null" if body is None else None,
            json=body,
            headers={**officer, "content-type": "application/json"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "rejected"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/funds", fund_body(term_months=None), "body.term_months"),
        ("/v1/funds", fund_body(revolving=None), "body.revolving"),
        (
            "/v1/funds",
            fund_body(installment_multiple_satang=None),
            "body.installment_multiple_satang",
        ),
        ("/v1/funds", fund_body(interest_rate_bps=None), "body.interest_rate_bps"),
        ("/v1/funds", fund_body(name=None), "body.name"),
        ("/v1/funds", fund_body(budget_satang=None), "body.budget_satang"),
    ],
)
async def test_null_is_refused_where_the_document_does_not_allow_it(
    loans: httpx.AsyncClient, flow: Flow, path: str, body: dict[str, Any], field: str
) -> None:
    r = await loans.post(path, json=body, headers=flow.auth.officer())
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
