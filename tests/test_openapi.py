"""The merged OpenAPI document: current, complete and clash-free."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from otog_devstack import openapi
from otog_devstack.stack import SERVICES, ServiceSpec
from pydantic import TypeAdapter, ValidationError

from tests.test_request_bodies import app_routes

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
        assert re.fullmatch(r"[a-z][a-z0-9_]*", op.get("operationId", "")), where
        assert op.get("tags"), where
        assert op.get("summary"), where
        assert op.get("description"), where
        statuses = set(op["responses"])
        assert "429" in statuses and "503" in statuses, where
        if op.get("security"):
            assert {"401", "403"} <= statuses, where
        ids.append(op["operationId"])
    assert len(ids) == len(set(ids))


# The sign-in page answers its refusals as pages (problem+json for the rest).
HTML_PAGES = {"/v1/oauth/authorize"}


def test_errors_use_the_problem_schema(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        for status, response in op["responses"].items():
            if status[0] in "45":
                content = list(response.get("content", {}))
                expected = ["application/problem+json"]
                if path in HTML_PAGES and "text/html" in content:
                    expected.append("text/html")
                assert content == expected, f"{method} {path} {status}"


def test_oauth2_client_credentials_scheme(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["OAuth2"]
    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/v1/oauth/token"
    assert {"registry:read", "loans:approve", "pii:read", "admin"} <= set(flow["scopes"])


def test_oauth2_authorization_code_scheme(document: dict[str, Any]) -> None:
    """What `/docs` (Swagger UI with PKCE) signs in with."""
    flow = document["components"]["securitySchemes"]["OAuth2"]["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == "/v1/oauth/authorize"
    assert flow["tokenUrl"] == flow["refreshUrl"] == "/v1/oauth/token"
    assert {"registry:read", "loans:read"} <= set(flow["scopes"])


def test_duplicate_operation_ids_across_services_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(openapi, "ID_SOURCES", {})  # toy documents create nothing

    def doc(path: str) -> dict[str, Any]:
        operation = {"operationId": "list_things", "responses": {}}
        return {"paths": {path: {"get": operation}}}

    health = {"get": {"operationId": "liveness", "responses": {}}}
    ready = {"get": {"operationId": "readiness", "responses": {}}}
    docs = {}
    for name, path in (("registry", "/v1/things"), ("training", "/v1/other-things")):
        docs[name] = doc(path)
        docs[name]["paths"].update({"/v1/health": health, "/v1/health/ready": ready})
    with pytest.raises(openapi.OperationIdClash, match="list_things"):
        openapi.merge(docs)
    docs["training"]["paths"]["/v1/other-things"]["get"]["operationId"] = "list_other_things"
    assert openapi.merge(docs)["paths"]["/v1/other-things"]["get"]["operationId"] == (
        "list_other_things"
    )


def test_schema_clashes_are_refused() -> None:
    a = {"components": {"schemas": {"Thing": {"type": "object"}}}, "paths": {}}
    b = {"components": {"schemas": {"Thing": {"type": "string"}}}, "paths": {}}
    with pytest.raises(openapi.SchemaClash):
        openapi.merge({"registry": a, "training": b})


def _component(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The schema itself, or the component its `$ref` names (one step only)."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        resolved: dict[str, Any] = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return resolved
    return schema


def media_examples(doc: dict[str, Any], media: dict[str, Any]) -> list[tuple[dict[str, Any], Any]]:
    """Each example a client sees for one media type, with the schema it must satisfy."""
    schema = media.get("schema", {})
    found: list[tuple[dict[str, Any], Any]] = []
    if "example" in media:
        found.append((schema, media["example"]))
    for named in media.get("examples", {}).values():
        if "value" in named:
            found.append((schema, named["value"]))
    found += [(schema, example) for example in _component(doc, schema).get("examples", [])]
    items = _component(doc, schema).get("items")
    if _component(doc, schema).get("type") == "array" and isinstance(items, dict):
        found += [(items, example) for example in _component(doc, items).get("examples", [])]
    return found


def json_bodies(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """JSON request bodies and 2xx JSON responses, named for the failure message."""
    bodies = []
    for path, method, op in operations(doc):
        request = op.get("requestBody", {}).get("content", {})
        for media_type, media in request.items():
            if media_type.endswith("json"):
                bodies.append((f"{method.upper()} {path} request {media_type}", media))
        for status, response in op["responses"].items():
            if not status.startswith("2"):
                continue
            for media_type, media in response.get("content", {}).items():
                if media_type.endswith("json"):
                    bodies.append((f"{method.upper()} {path} {status} {media_type}", media))
    return bodies


def _validator(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    import jsonschema_rs  # schemathesis depends on it; the examples must pass a real validator

    # Refs point at `#/components/schemas/…`: give them that root to resolve against.
    root = {**schema, "components": {"schemas": doc["components"]["schemas"]}}
    return jsonschema_rs.Draft202012Validator(root, validate_formats=True)


def test_every_operation_has_examples(document: dict[str, Any]) -> None:
    missing = [
        where for where, media in json_bodies(document) if not media_examples(document, media)
    ]
    assert not missing, "no example for:\n" + "\n".join(missing)


def test_examples_satisfy_their_schemas(document: dict[str, Any]) -> None:
    wrong = []
    checked = 0
    for where, media in json_bodies(document):
        for schema, example in media_examples(document, media):
            checked += 1
            for error in _validator(document, schema).iter_errors(example):
                wrong.append(f"{where}: {error.message} at {list(error.instance_path)}")
    for name, schema in document["components"]["schemas"].items():
        for example in schema.get("examples", []):
            checked += 1
            ref = {"$ref": f"#/components/schemas/{name}"}
            for error in _validator(document, ref).iter_errors(example):
                wrong.append(f"{name}: {error.message} at {list(error.instance_path)}")
    assert checked > 0
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("spec", SERVICES, ids=[s.name for s in SERVICES])
def test_request_examples_pass_the_models(document: dict[str, Any], spec: ServiceSpec) -> None:
    """What JSON Schema cannot say (wrong JSON types, dates in order, consent with its
    time) the request models check: every request example must pass them too."""
    checked = 0
    for route in app_routes(spec.package):
        if route.body_field is None:
            continue
        adapter = TypeAdapter(route.body_field.field_info.annotation)
        for method in route.methods:
            operation = document["paths"][route.path_format].get(method.lower(), {})
            content = operation.get("requestBody", {}).get("content", {})
            for media_type, media in content.items():
                if not media_type.endswith("json"):
                    continue
                for _, example in media_examples(document, media):
                    checked += 1
                    try:
                        adapter.validate_python(json.loads(json.dumps(example)))
                    except ValidationError as exc:
                        pytest.fail(f"{method} {route.path_format}: {example}\n{exc}")
    assert checked > 0


def test_every_uuid_path_parameter_has_a_source(document: dict[str, Any]) -> None:
    """Each kind of id in a path names the operation that creates it, so links reach it."""
    missing = set()
    for path, _, op in operations(document):
        for parameter in op.get("parameters", []):
            is_id = parameter.get("in") == "path" and parameter["schema"].get("format") == "uuid"
            if is_id and parameter["name"] not in openapi.ID_SOURCES:
                missing.add(f"{parameter['name']} ({path})")
    assert not missing, "add to otog_devstack.openapi.ID_SOURCES: " + ", ".join(sorted(missing))


def test_links_lead_from_created_objects_to_operations_that_take_them(
    document: dict[str, Any],
) -> None:
    by_id = {op["operationId"]: op for _, _, op in operations(document)}
    linked = set()
    for path, _, op in operations(document):
        for status, response in op["responses"].items():
            for name, link in response.get("links", {}).items():
                where = f"{op['operationId']} {status} → {name}"
                assert status.startswith("2") and name == link["operationId"], where
                target = by_id[link["operationId"]]
                declared = {(p.get("in"), p.get("name")) for p in target.get("parameters", [])}
                for key, expression in link.get("parameters", {}).items():
                    where_, _, parameter = key.partition(".")
                    assert (where_, parameter) in declared, where
                    if expression.startswith("$request.path."):
                        assert f"{{{expression.rsplit('.', 1)[1]}}}" in path, where
                    else:
                        assert expression.startswith("$response.body#/"), where
                required = {
                    p["name"] for p in target.get("parameters", []) if p.get("in") == "path"
                }
                assert required <= {k.partition(".")[2] for k in link["parameters"]}, where
                assert "requestBody" not in link, where  # openapi-generator refuses them
                linked.add((op["operationId"], link["operationId"]))
    # The chains the stateful tests walk, one per service and across them.
    assert {
        ("create_group", "get_group"),
        ("create_group", "update_group"),
        ("create_group", "add_member"),
        ("create_group", "create_product"),
        ("create_product", "create_certification"),
        ("create_visit", "get_visit"),
        ("create_worker", "update_worker"),
        ("create_course", "get_course"),
        ("create_training_session", "create_enrollment"),
        ("create_enrollment", "cancel_enrollment"),
        ("create_fund", "get_trial_balance"),
        ("create_group", "list_loans"),
        ("apply_for_loan", "approve_loan"),
        ("apply_for_loan", "record_repayment"),
        ("record_repayment", "reverse_repayment"),
    } <= linked


def test_a_source_that_creates_nothing_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = openapi.service_documents()
    monkeypatch.setitem(openapi.ID_SOURCES, "group_id", "list_groups")
    with pytest.raises(openapi.BrokenLink, match="list_groups"):
        openapi.merge(docs)
