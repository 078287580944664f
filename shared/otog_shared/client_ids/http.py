"""Client-chosen ids over HTTP: on every create of an ``IdempotentRoute`` router.

A ``POST`` whose body is a :class:`~otog_shared.schemas.ClientChosenId` is a
create. When the body carries an ``id``, the id is claimed after the endpoint's
dependencies (the caller is known, the request's session open): a re-send gets
the first answer and the endpoint does not run; otherwise the endpoint runs,
makes the resource with that id, and its answer is stored in the request's own
transaction before that commits. The services only use ``body.id`` as the
primary key; nothing else about ids is theirs to do.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from otog_shared.client_ids.service import (
    ClientIdService,
    CreatedAnswer,
    CreateRequest,
    refuse_taken_id,
)
from otog_shared.context import client_id_var, person_var
from otog_shared.db import DbSession
from otog_shared.errors import PROBLEM_MEDIA_TYPE
from otog_shared.idempotency.sealing import sealer_of
from otog_shared.idempotency.service import fingerprint
from otog_shared.schemas import ClientChosenId

_PENDING = "otog.client_id_create"

_TAKEN = (
    "the `id` sent is already taken: by a resource made from other content, of "
    "another kind, or by another client (`/problems/id-conflict`, with no details "
    "of what holds it)."
)
ID_CONFLICT_DESCRIPTION = _TAKEN[0].upper() + _TAKEN[1:]


def _model_of(annotation: Any) -> type | None:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation if isinstance(annotation, type) else None


def id_body_parameter(hints: Mapping[str, Any]) -> str | None:
    """The endpoint's parameter holding a body that may carry a client-chosen id."""
    for name, hint in hints.items():
        model = _model_of(hint)
        if model is not None and issubclass(model, ClientChosenId):
            return name
    return None


def document_id_conflict(
    responses: Mapping[int | str, dict[str, Any]] | None,
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a create with the 409 of a taken id added (or named in the
    409 it already declares)."""
    documented: dict[int | str, dict[str, Any]] = dict(responses or {})
    key: int | str = next((k for k in documented if str(k) == "409"), 409)
    existing = documented.get(key)
    if existing is None:
        documented[key] = {
            "description": ID_CONFLICT_DESCRIPTION,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    else:
        described = existing.get("description", "")
        documented[key] = {
            **existing,
            "description": f"{described.rstrip('.')}; or {_TAKEN}"
            if described
            else ID_CONFLICT_DESCRIPTION,
        }
        if "model" not in existing and "content" not in existing:
            documented[key]["content"] = {
                PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }
    return documented


def _owner() -> str:
    # Same scope as an Idempotency-Key's: the client, and within an app the person
    # (imported here: otog_shared.idempotency.http imports this module).
    from otog_shared.idempotency.http import key_scope

    caller = client_id_var.get()
    return key_scope(caller, person_var.get()) if caller is not None else ""


def _answer(answer: CreatedAnswer) -> Response:
    headers = {
        name: value
        for name, value in (("Location", answer.location), ("ETag", answer.etag))
        if value is not None
    }
    return Response(
        content=answer.body.encode(),
        status_code=answer.status,
        media_type="application/json",
        headers=headers,
    )


def with_client_id(endpoint: Callable[..., Any], kind: str, body_name: str) -> Callable[..., Any]:
    """``endpoint`` with two more parameters (the request, its session) that claim
    the body's id before it runs; an id used before gives the stored answer, or 409."""
    hints = typing.get_type_hints(endpoint, include_extras=True)
    signature = inspect.signature(endpoint)
    parameters = [
        p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()
    ]
    own_request = next((p.name for p in parameters if p.annotation is Request), None)
    extra: dict[str, Any] = {"client_id_session__": DbSession}
    if own_request is None:
        extra["client_id_request__"] = Request
    request_name = own_request or "client_id_request__"
    parameters += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
        for name, annotation in extra.items()
    ]
    parameters.sort(key=lambda p: p.kind)

    @functools.wraps(endpoint)
    async def wrapper(**values: Any) -> Any:
        request: Request = values[request_name] if own_request else values.pop(request_name)
        session: AsyncSession = values.pop("client_id_session__")
        body: ClientChosenId = values[body_name]
        if body.id is None:
            result = endpoint(**values)
            return await result if inspect.isawaitable(result) else result

        create = CreateRequest(
            id=body.id,
            kind=kind,
            owner=_owner(),
            # The validated content: spacing, key order or a default sent
            # explicitly do not make another request of the same create.
            body_sha256=fingerprint(request.method, request.url.path, body.model_dump(mode="json")),
        )
        service = ClientIdService(session, sealer_of(request))
        stored = await service.claim(create)
        if stored is not None:
            return _answer(stored)
        # Known before the endpoint runs, so that an endpoint whose answer is
        # committed by another transaction can store it there (record_created_in).
        request.scope[_PENDING] = (service, create)
        try:
            result = endpoint(**values)
            result = await result if inspect.isawaitable(result) else result
            # An id that names a row made without a client-chosen id (or in a table
            # the service writes in a later flush) fails here, not at the commit.
            await session.flush()
        except IntegrityError as exc:
            refuse_taken_id(exc)
            raise
        return result

    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters, return_annotation=hints.get("return", signature.return_annotation)
    )
    # Resolved already: whoever reads the hints next (the Idempotency-Key's wrapper)
    # cannot resolve the endpoint module's names from this module.
    wrapper.__annotations__ = {**hints, **extra}
    del wrapper.__wrapped__  # FastAPI must read the new signature, not the original's.
    return wrapper


async def record_created(request: Request, response: Response) -> None:
    """Store the answer of a create made with a client-chosen id, in its transaction."""
    pending: tuple[ClientIdService, CreateRequest] | None = request.scope.get(_PENDING)
    if pending is not None:
        await record_created_in(request, pending[0].session, response)


def has_pending_create(request: Request) -> bool:
    """The request creates a resource under a client-chosen id it has claimed."""
    return request.scope.get(_PENDING) is not None


async def record_created_in(request: Request, session: AsyncSession, response: Response) -> None:
    """Store the answer of a create made with a client-chosen id in ``session``: the
    request's own transaction, or another one that makes the resource and commits
    before the request's (the request still holds the id's lock meanwhile)."""
    pending: tuple[ClientIdService, CreateRequest] | None = request.scope.get(_PENDING)
    body = getattr(response, "body", None)
    if pending is None or not 200 <= response.status_code < 300 or not isinstance(body, bytes):
        return
    claimed, create = pending
    service = claimed if session is claimed.session else ClientIdService(session, claimed.sealer)
    await service.record(
        create,
        CreatedAnswer(
            status=response.status_code,
            body=body.decode(),
            location=response.headers.get("location"),
            etag=response.headers.get("etag"),
        ),
    )
