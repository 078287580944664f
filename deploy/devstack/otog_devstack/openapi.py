"""One OpenAPI 3.1 document for the gateway, merged from the three services' own documents.

``make openapi`` writes ``deploy/openapi/openapi.json``; a test fails when the
committed file is not what the services generate now.
"""

from __future__ import annotations

import copy
import importlib
import json
import tempfile
from pathlib import Path
from typing import Any

from otog_shared.events_catalog import CATALOGUE_TAG, openapi_webhooks

from otog_devstack.stack import ROOT, SERVICES

OUTPUT = ROOT / "deploy" / "openapi" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

INFO = {
    "title": "OTOG API",
    "version": "1.0.0",
    "summary": "One Tambon, One Independent Occupation Group (หนึ่งตำบล หนึ่งกลุ่มอาชีพอิสระ)",
    "description": (
        "The public API of the Ministry of Labour programme *One Tambon, One Independent "
        "Occupation Group*: registry of informal workers and occupation groups, skills "
        "training, interest-free loans and market links.\n\n"
        "**Authentication.** OAuth 2.0 client credentials: `POST /v1/oauth/token` with "
        "`grant_type=client_credentials`, `client_id` and `client_secret` (form-encoded, or HTTP "
        "Basic) returns a bearer JWT valid for 15 minutes, signed with keys published at "
        "`/v1/.well-known/jwks.json`. Each operation lists the scopes it needs. A client bound to "
        "a province (2-digit DOPA code) sees and changes only that province's data; objects of "
        "other provinces answer 404.\n\n"
        "**Conventions.** JSON in and out, UTF-8, snake_case; ids are UUIDs; dates `YYYY-MM-DD` "
        "(business dates in Asia/Bangkok); money is integer satang in fields ending `_satang` "
        "(50,000 THB = `5000000`). Lists take `limit` (default 50, max 200) and `cursor` and "
        "answer `{items, next_cursor}`. Every response carries `X-Request-ID`. Single resources "
        "carry an `ETag`; `PATCH` honours `If-Match` (412 when stale). Money-moving `POST`s take "
        "an `Idempotency-Key`.\n\n"
        "**Errors** are `application/problem+json` (RFC 9457) with a stable `type` URI, `title`, "
        "`status`, `detail`, and for invalid values `errors: [{field, message}]`. The gateway "
        "itself may answer 404, 405, 413, 429 (with `Retry-After`), 502, 503 and 504, also as "
        "problem+json.\n\n"
        "**Language.** Send `Accept-Language: th` (or `th-TH`, `th;q=0.9,en;q=0.8`: q-values "
        "count) for Thai error texts: `title`, `detail` and `errors[].message`; English is the "
        "default and the answer for any other language. Every problem+json response names its "
        "language in `Content-Language` (`th` or `en`) and carries `Vary: Accept-Language`. The "
        "`type` slug and `errors[].field` never change with the language; a `detail` not yet "
        "translated stays in English inside a Thai answer."
    ),
    "contact": {"name": "OTOG programme, Ministry of Labour"},
    "license": {"name": "CC BY 4.0", "identifier": "CC-BY-4.0"},
}

GATEWAY_RESPONSES = {
    "413": "Request body too large (gateway).",
    "429": "Rate limited (gateway); retry after `Retry-After` seconds.",
    "503": "A service or one of its dependencies (its database, another service) is "
    "unavailable, or the request's transaction lost a race and was rolled back; retry after "
    "`Retry-After` seconds.",
}
AUTH_RESPONSES = {
    "401": "Missing or invalid bearer token.",
    "403": "The token lacks a required scope or province.",
}


# The operation that creates what each id names. The merge links the `id` in its
# success response to every operation taking that id in its path or query: clients see
# how calls chain, and schemathesis' stateful phase follows the links to real objects.
# Not into request bodies: OpenAPI allows a link's `requestBody` to be an object with
# expressions inside, but openapi-generator's parser refuses anything but a string,
# so the document would no longer generate clients. A new kind of id gets its line
# here (a test checks that every UUID path parameter has one).
ID_SOURCES: dict[str, str] = {
    "worker_id": "create_worker",
    "group_id": "create_group",
    "product_id": "create_product",
    "visit_id": "create_visit",
    "course_id": "create_course",
    "session_id": "create_training_session",
    "enrollment_id": "create_enrollment",
    "fund_id": "create_fund",
    "loan_id": "apply_for_loan",
    "repayment_id": "record_repayment",
    "top_up_id": "create_fund_top_up",
    "webhook_id": "create_webhook",
    "photo_id": "put_product_photo",
}


class SchemaClash(RuntimeError):
    pass


class OperationIdClash(SchemaClash):
    """Two operations share an id: generated clients would get one method for both."""


def service_documents() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in SERVICES:
            main = importlib.import_module(f"{spec.package}.main")
            settings_cls = _settings_class(spec.package)
            app = main.create_app(settings_cls(data_dir=Path(tmp)))
            docs[spec.name] = app.openapi()
    return docs


def _settings_class(package: str) -> Any:
    module = importlib.import_module(f"{package}.settings")
    for name in ("RegistrySettings", "Settings"):
        if hasattr(module, name):
            return getattr(module, name)
    raise RuntimeError(f"{package}.settings has no settings class")


def _problem_ref() -> dict[str, Any]:
    return {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _add_gateway_responses(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    wanted = dict(GATEWAY_RESPONSES)
    if "requestBody" not in operation:
        wanted.pop("413")
    if operation.get("security"):
        wanted.update(AUTH_RESPONSES)
    for status, description in wanted.items():
        responses.setdefault(status, {"description": description, "content": _problem_ref()})


def merge(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": INFO,
        "servers": [
            {"url": "http://127.0.0.1:8080", "description": "Local gateway (`make run`)"},
        ],
        "tags": [],
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
    }
    schema_owner: dict[str, str] = {}
    seen_tags: set[str] = set()
    for service, doc in docs.items():
        for tag in doc.get("tags", []):
            if tag["name"] not in seen_tags:
                seen_tags.add(tag["name"])
                merged["tags"].append(tag)
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            existing = merged["components"]["schemas"].get(name)
            if existing is not None and existing != schema:
                raise SchemaClash(
                    f"schema {name!r} differs between {schema_owner[name]} and {service}"
                )
            merged["components"]["schemas"][name] = schema
            schema_owner.setdefault(name, service)
        for name, scheme in doc.get("components", {}).get("securitySchemes", {}).items():
            merged["components"]["securitySchemes"][name] = scheme
        # Shared parameters (the Idempotency-Key header) are the same in every service.
        for name, parameter in doc.get("components", {}).get("parameters", {}).items():
            merged["components"].setdefault("parameters", {})[name] = parameter
        for path, item in doc.get("paths", {}).items():
            if path.startswith("/v1/health"):
                continue
            if path in merged["paths"]:
                raise SchemaClash(f"path {path} is served by two services")
            item = copy.deepcopy(item)
            for method in METHODS:
                if method in item:
                    _add_gateway_responses(item[method])
            merged["paths"][path] = item
    merged["paths"] = {**_health_paths(docs), **merged["paths"]}
    # The event catalogue: what webhooks deliver and the feed lists, one entry per type.
    webhooks, webhook_schemas = openapi_webhooks()
    merged["webhooks"] = webhooks
    merged["tags"].append(CATALOGUE_TAG)
    for name, schema in webhook_schemas.items():
        merged["components"]["schemas"].setdefault(name, schema)
    _check_operation_ids(merged)
    add_links(merged)
    return merged


class BrokenLink(RuntimeError):
    """An ``ID_SOURCES`` entry names an operation that is missing or returns no ``id``."""


def _operations(document: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        op["operationId"]: (path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return resolved
    return schema


def _json_properties(document: dict[str, Any], content: dict[str, Any]) -> set[str]:
    """Top-level properties of a JSON body (a response's here)."""
    media = content.get("application/json")
    if media is None:
        return set()
    return set(_resolve(document, media.get("schema", {})).get("properties", {}))


def _parameters(operation: dict[str, Any], where: str) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == where}


def add_links(document: dict[str, Any]) -> None:
    """OpenAPI links from each id's source operation to the operations that take it."""
    operations = _operations(document)
    for name, source_id in ID_SOURCES.items():
        if source_id not in operations:
            raise BrokenLink(f"ID_SOURCES: no operation {source_id!r} (the source of {name})")
        _, source = operations[source_id]
        created = [
            (status, response)
            for status, response in source["responses"].items()
            if status.startswith("2")
            and "id" in _json_properties(document, response.get("content", {}))
        ]
        if not created:
            raise BrokenLink(f"{source_id} answers no JSON object with an `id`")
        source_path = _parameters(source, "path")
        for target_id, (_, target) in operations.items():
            link = _link(document, name, source_path, created[0][1], target_id, target)
            if link is None or target_id == source_id:
                continue
            for _, response in created:
                response.setdefault("links", {})[target_id] = link


def _link(
    document: dict[str, Any],
    name: str,
    source_path: set[str],
    created: dict[str, Any],
    target_id: str,
    target: dict[str, Any],
) -> dict[str, Any] | None:
    """The link that gives ``target`` the created object's id as ``name``, or None when
    ``target`` does not take it (or needs a path parameter the source cannot give)."""
    made = "$response.body#/id"
    known = _json_properties(document, created.get("content", {}))
    parameters: dict[str, str] = {}
    for where in ("path", "query"):
        if name in _parameters(target, where):
            parameters[f"{where}.{name}"] = made
    if not parameters:
        return None
    for other in sorted(_parameters(target, "path") - {name}):
        if other in source_path:
            parameters[f"path.{other}"] = f"$request.path.{other}"
        elif other in known:
            parameters[f"path.{other}"] = f"$response.body#/{other}"
        else:
            return None
    return {
        "operationId": target_id,
        "description": f"`{name}` is the `id` of the object just created.",
        "parameters": parameters,
    }


def _check_operation_ids(document: dict[str, Any]) -> None:
    owners: dict[str, str] = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            where = f"{method.upper()} {path}"
            operation_id = operation.get("operationId")
            if not operation_id:
                raise OperationIdClash(f"{where} has no operationId")
            if operation_id in owners:
                raise OperationIdClash(
                    f"operationId {operation_id!r} is used by {owners[operation_id]} and {where}: "
                    "rename one of the endpoint functions"
                )
            owners[operation_id] = where


def _health_paths(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """At the gateway, `/v1/health` is liveness and `/v1/health/{service}` each readiness."""
    paths: dict[str, Any] = {}
    registry_live = copy.deepcopy(docs["registry"]["paths"]["/v1/health"])
    registry_live["get"]["summary"] = "Liveness of the API"
    _add_gateway_responses(registry_live["get"])
    paths["/v1/health"] = registry_live
    for service, doc in docs.items():
        ready = copy.deepcopy(doc["paths"]["/v1/health/ready"])
        op = ready["get"]
        suffix = service.replace("-", "_")
        op["operationId"] = f"readiness_{suffix}"
        op["summary"] = f"Readiness of the {service} service"
        op["description"] = f"200 when the {service} service and its database answer."
        _add_gateway_responses(op)
        paths[f"/v1/health/{service}"] = ready
    return paths


def render() -> str:
    return json.dumps(merge(service_documents()), indent=2, ensure_ascii=False) + "\n"


def write(path: Path = OUTPUT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path


def is_current(path: Path = OUTPUT) -> bool:
    return path.exists() and path.read_text(encoding="utf-8") == render()
