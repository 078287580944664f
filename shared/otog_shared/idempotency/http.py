"""``Idempotency-Key`` over HTTP: on every ``POST`` of a router, or around one endpoint.

A router made with ``APIRouter(route_class=IdempotentRoute)`` accepts the header on
each of its ``POST`` routes without their code knowing: the key is claimed after the
endpoint's dependencies (the caller is authenticated by then, the request's session
open), the endpoint runs only if the key is new, and the response it produced is
stored in the request's own transaction before that commits. An endpoint that
needs more (a required key, headers on a replay) calls :func:`run_idempotent`
itself; a route whose work is not one transaction, or that changes nothing, is
marked :func:`idempotency_exempt`.
"""

from __future__ import annotations

import functools
import inspect
import json
import typing
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Header, Request, Response
from fastapi.params import Header as HeaderParam
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from otog_shared.auth import Principal
from otog_shared.client_ids.http import (
    document_id_conflict,
    has_pending_create,
    id_body_parameter,
    record_created,
    record_created_in,
    with_client_id,
)
from otog_shared.context import client_id_var, person_var
from otog_shared.db import DbSession
from otog_shared.errors import PROBLEM_MEDIA_TYPE
from otog_shared.idempotency.errors import IdempotencyKeyMissing
from otog_shared.idempotency.sealing import sealer_of
from otog_shared.idempotency.service import IdempotencyService, check_key, fingerprint

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"

_KEY_DESCRIPTION = (
    "A key of your choice (a UUID) that makes a retry of this request safe: the same "
    "key with the same body returns the first response again (`Idempotent-Replayed: "
    "true`) and does nothing more; with another body it is refused (422); while the "
    "first request is running, 409. Keys are per client and remembered for 30 days "
    "after the first request; a key reused after that counts as new."
)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        description=_KEY_DESCRIPTION,
    ),
]

# A route whose code refuses a request without the header passes
# ``openapi_extra=KEY_REQUIRED``; the service's OpenAPI document then marks the
# header required there (:func:`document_idempotency_key`), so generated clients
# make callers send it.
KEY_REQUIRED_MARK = "x-otog-idempotency-key-required"
KEY_REQUIRED: dict[str, Any] = {KEY_REQUIRED_MARK: True}
# What ``check_key`` accepts, as the document states it.
KEY_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": "^[!-~]+$",
}

Work = Callable[[], Awaitable[tuple[BaseModel, Mapping[str, str]]]]


def key_scope(client_id: str, person: str | None) -> str:
    """Whose keys a key is among: the client's, and within an app each signed-in
    person's own, so one person's stored answer is never replayed to another."""
    return client_id if person is None else f"{client_id} {person}"


def _render(model: BaseModel) -> str:
    return model.model_dump_json()


async def run_idempotent(
    *,
    session: AsyncSession,
    principal: Principal,
    request: Request,
    key: str | None,
    required: bool,
    payload: BaseModel | None,
    status_code: int,
    work: Work,
    replay_headers: Callable[[str], Mapping[str, str]] | None = None,
) -> Response:
    """Do ``work`` once per key; a repeat gets the first response back.

    ``work`` returns the response model and the headers for a first response
    (an ETag, say); a replay gets ``replay_headers`` of the stored body and
    ``Idempotent-Replayed: true``.
    """
    if key is None:
        if required:
            raise IdempotencyKeyMissing(
                f"This request moves money: send an {IDEMPOTENCY_HEADER} header so that "
                "it can be retried safely."
            )
        model, headers = await work()
        return _json(_render(model), status_code, headers)

    check_key(key)
    body_payload: Any = payload.model_dump(mode="json") if payload is not None else None
    request_hash = fingerprint(request.method, request.url.path, body_payload)
    service = IdempotencyService(session, sealer_of(request))
    scope = key_scope(principal.client_id, principal.person)
    stored = await service.claim(scope, key, request_hash)
    if stored is not None:
        headers = dict(replay_headers(stored.body)) if replay_headers else {}
        headers[REPLAY_HEADER] = "true"
        return _json(stored.body, stored.status, headers)

    model, headers = await work()
    rendered = _render(model)
    await service.record(
        client_id=scope,
        key=key,
        method=request.method,
        path=request.url.path,
        request_hash=request_hash,
        status=status_code,
        body=rendered,
    )
    return _json(rendered, status_code, headers)


def _json(body: str, status_code: int, headers: Mapping[str, str]) -> Response:
    return Response(
        content=body.encode(),
        status_code=status_code,
        media_type="application/json",
        headers=dict(headers),
    )


_EXEMPT = "__otog_idempotency_exempt__"
_CLAIM = "otog.idempotency_claim"
_ANSWERED = "otog.answer_committed"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def idempotency_exempt(endpoint: Endpoint) -> Endpoint:
    """Leave this ``POST`` of an :class:`IdempotentRoute` router without the header
    (put it under the route decorator)."""
    setattr(endpoint, _EXEMPT, True)
    return endpoint


@dataclass
class _Claim:
    service: IdempotencyService
    client_id: str
    key: str
    method: str
    path: str
    request_hash: str

    async def record(self, response: Response, session: AsyncSession | None = None) -> None:
        service = self.service
        if session is not None and session is not service.session:
            service = IdempotencyService(session, service.sealer)
        await service.record(
            client_id=self.client_id,
            key=self.key,
            method=self.method,
            path=self.path,
            request_hash=self.request_hash,
            status=response.status_code,
            body=bytes(response.body).decode(),
        )


async def record_answer_in(request: Request, session: AsyncSession, response: Response) -> None:
    """Store ``response`` as the request's answer (under its client-chosen id and its
    Idempotency-Key, whichever it came with) in ``session``: a transaction other than
    the request's own that does the request's work and commits first, so the work and
    its stored answer commit together. The request keeps holding the id's and the
    key's locks until its own transaction ends. Once that other transaction has
    committed, call :func:`answer_committed`; return this very ``response``."""
    await record_created_in(request, session, response)
    claim: _Claim | None = request.scope.get(_CLAIM)
    if claim is not None and 200 <= response.status_code < 300:
        await claim.record(response, session)


def answer_to_record(request: Request) -> bool:
    """Whether :func:`record_answer_in` would store anything for the request (it came
    with an Idempotency-Key or a client-chosen id): without, its answer need not be
    rendered inside the transaction that does its work."""
    return request.scope.get(_CLAIM) is not None or has_pending_create(request)


def answer_committed(request: Request) -> None:
    """The request's answer and its records were committed by another transaction
    (:func:`record_answer_in`): the route must not store them again."""
    request.scope[_ANSWERED] = True


async def _request_hash(request: Request) -> str:
    raw = await request.body()
    body: Any
    try:
        # Canonical JSON, so that spacing or key order is not "another body".
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.hex()
    return fingerprint(request.method, request.url.path, body)


def _declares_key(hints: Mapping[str, Any]) -> bool:
    """Whether the endpoint reads the header itself (then it keeps its own handling)."""
    for name, hint in hints.items():
        for meta in getattr(hint, "__metadata__", ()):
            # Without an alias FastAPI names the header after the parameter.
            header = meta.alias or name.replace("_", "-") if isinstance(meta, HeaderParam) else ""
            if header.lower() == IDEMPOTENCY_HEADER.lower():
                return True
    return False


def _with_key(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` with three more parameters (the key, the request, its session)
    that claim the key before it runs; a key used before gives the stored response
    and the endpoint does not run."""
    hints = typing.get_type_hints(endpoint, include_extras=True)
    signature = inspect.signature(endpoint)
    parameters = [
        p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()
    ]
    # FastAPI hands the request to one parameter only: the endpoint's own, if it has one.
    own_request = next(
        (p.name for p in parameters if p.annotation is Request),
        None,
    )
    extra: dict[str, Any] = {
        "idempotency_key__": IdempotencyKey,
        "idempotency_session__": DbSession,
    }
    if own_request is None:
        extra["idempotency_request__"] = Request
    request_name = own_request or "idempotency_request__"
    parameters += [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=annotation,
            default=None if name == "idempotency_key__" else inspect.Parameter.empty,
        )
        for name, annotation in extra.items()
    ]
    # Keyword-only parameters after those with defaults are fine; positional ones
    # with defaults must stay before those without, so keep every original parameter.
    parameters.sort(key=lambda p: p.kind)

    @functools.wraps(endpoint)
    async def wrapper(**values: Any) -> Any:
        key: str | None = values.pop("idempotency_key__")
        request: Request = values[request_name] if own_request else values.pop(request_name)
        session: AsyncSession = values.pop("idempotency_session__")
        caller = client_id_var.get()
        client_id = key_scope(caller, person_var.get()) if caller is not None else None
        if key is not None and client_id is not None:
            check_key(key)
            claim = _Claim(
                IdempotencyService(session, sealer_of(request)),
                client_id,
                key,
                request.method,
                request.url.path,
                await _request_hash(request),
            )
            stored = await claim.service.claim(client_id, key, claim.request_hash)
            if stored is not None:
                return Response(
                    content=stored.body.encode(),
                    status_code=stored.status,
                    media_type="application/json" if stored.body else None,
                    headers={REPLAY_HEADER: "true"},
                )
            request.scope[_CLAIM] = claim
        result = endpoint(**values)
        return await result if inspect.isawaitable(result) else result

    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters, return_annotation=hints.get("return", signature.return_annotation)
    )
    del wrapper.__wrapped__  # FastAPI must read the new signature, not the original's.
    return wrapper


class IdempotentRoute(APIRoute):
    """Route class of a router whose ``POST`` routes all take ``Idempotency-Key``."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {m.upper() for m in kwargs.get("methods") or ()}
        hints = typing.get_type_hints(endpoint, include_extras=True)
        self.idempotent = (
            "POST" in methods and not getattr(endpoint, _EXEMPT, False) and not _declares_key(hints)
        )
        # A create whose body may name the new resource (otog_shared.client_ids);
        # the id is claimed inside the key's claim, so a replayed key never reaches it.
        id_body = id_body_parameter(hints) if "POST" in methods else None
        self.creates = id_body is not None
        if id_body is not None:
            endpoint = with_client_id(endpoint, f"POST {path}", id_body)
            kwargs["responses"] = document_id_conflict(kwargs.get("responses"))
        super().__init__(path, _with_key(endpoint) if self.idempotent else endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not (self.idempotent or self.creates):
            return handler

        async def handle(request: Request) -> Response:
            response = await handler(request)
            if request.scope.get(_ANSWERED):
                return response
            await record_created(request, response)
            claim: _Claim | None = request.scope.get(_CLAIM)
            # Still inside the request's transaction: the session commits after this.
            # A streamed body has no bytes to keep; every POST of ours answers whole JSON.
            if (
                claim is not None
                and 200 <= response.status_code < 300
                and isinstance(getattr(response, "body", None), bytes)
            ):
                await claim.record(response)
            return response

        return handle


def document_idempotency_key(app: FastAPI) -> None:
    """In the service's OpenAPI document, the header on every ``POST`` that takes it
    is one shared parameter (``components/parameters/IdempotencyKey``), optional
    unless the route is marked ``KEY_REQUIRED`` (the code refuses a request without
    it, with a 400 problem rather than a generic 422), and its schema is the key the
    code accepts, not FastAPI's "string or null": a header is never null."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        used = False
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if not isinstance(operation, dict):
                    continue
                required = bool(operation.pop(KEY_REQUIRED_MARK, False))
                parameters = operation.get("parameters", [])
                for index, parameter in enumerate(parameters):
                    if (
                        parameter.get("in") == "header"
                        and parameter.get("name") == IDEMPOTENCY_HEADER
                    ):
                        name = "IdempotencyKeyRequired" if required else "IdempotencyKey"
                        parameters[index] = {"$ref": f"#/components/parameters/{name}"}
                        used = True
                        # A malformed key is a 400, also where there is no body to be malformed.
                        operation.setdefault("responses", {}).setdefault(
                            "400",
                            {
                                "description": "Malformed request or Idempotency-Key.",
                                "content": {
                                    PROBLEM_MEDIA_TYPE: {
                                        "schema": {"$ref": "#/components/schemas/Problem"}
                                    }
                                },
                            },
                        )
        if used:
            shared = {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "description": _KEY_DESCRIPTION,
                "schema": dict(KEY_SCHEMA),
            }
            components = schema.setdefault("components", {}).setdefault("parameters", {})
            components["IdempotencyKey"] = {**shared, "required": False}
            components["IdempotencyKeyRequired"] = {**shared, "required": True}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
