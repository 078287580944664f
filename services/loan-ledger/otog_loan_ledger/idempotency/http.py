"""Running an endpoint's work under an ``Idempotency-Key``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import Header, Request, Response
from otog_shared.auth import Principal
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.errors import IdempotencyKeyMissing
from otog_loan_ledger.idempotency.service import IdempotencyService, check_key, fingerprint

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        description="A key of your choice (a UUID) that makes a retry of this request "
        "safe: the same key with the same body returns the first response again and "
        "posts nothing more; with another body it is refused (422); while the first "
        "request is running, 409. Keys are per client and remembered for 30 days "
        "after the first request; a key reused after that counts as new.",
    ),
]

# A route whose code refuses a request without the header passes
# ``openapi_extra=KEY_REQUIRED``; the service's OpenAPI document then marks the
# header required there (see ``main.py``), so generated clients make callers send it.
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
    service = IdempotencyService(session)
    stored = await service.claim(principal.client_id, key, request_hash)
    if stored is not None:
        headers = dict(replay_headers(stored.body)) if replay_headers else {}
        headers[REPLAY_HEADER] = "true"
        return _json(stored.body, stored.status, headers)

    model, headers = await work()
    rendered = _render(model)
    await service.record(
        client_id=principal.client_id,
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
