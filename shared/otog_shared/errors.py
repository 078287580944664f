"""RFC 9457 problem details: one exception hierarchy, one set of handlers.

Services raise :class:`ProblemError` subclasses from their service layer; the
handlers registered by the app factory turn every error, including FastAPI's
validation errors, Starlette's HTTP errors and unexpected exceptions, into
``application/problem+json`` without leaking internals.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, ClassVar

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from otog_shared.context import request_id_var
from otog_shared.dbfaults import DatabaseUnreachable, Fault, classify, describe
from otog_shared.i18n import (
    Language,
    detail_th,
    field_message_th,
    language_var,
    title_th,
    validation_message_th,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"

log = logging.getLogger("otog.errors")


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. `body.national_id`.")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/not-found",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "Group not found.",
                    "request_id": "6f1c2b7e0d6a4c1f9a3e5b2d7c8e9f01",
                }
            ]
        },
    )

    type: str = Field(description="Stable URI identifying the problem type.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Base for every error a service raises on purpose."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal Server Error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
        detail_th: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        # Thai for a detail the catalogue in otog_shared.i18n cannot match.
        self.detail_th = detail_th
        self.errors = errors
        self.headers = dict(headers or {})
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail or self.title,
        }
        if instance:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = [e.model_dump() for e in self.errors]
        body.update(self.extra)
        if self.detail_th and language_var.get() == "th":
            body["detail"] = self.detail_th
        return body


class BadRequest(ProblemError):
    status, slug, title = 400, "bad-request", "Bad Request"


class Unauthorized(ProblemError):
    status, slug, title = 401, "unauthorized", "Unauthorized"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="otog"'}, **extra)


class Forbidden(ProblemError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Not Found"


class Conflict(ProblemError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(ProblemError):
    status, slug, title = 412, "precondition-failed", "Precondition Failed"


class UnprocessableEntity(ProblemError):
    status, slug, title = 422, "validation-error", "Unprocessable Entity"


class DependencyUnavailable(ProblemError):
    status, slug, title = 503, "dependency-unavailable", "Service Unavailable"


# A crash-restart of PostgreSQL left the services ready again within a second in
# the fault test (tests/e2e/test_fault_probe.py); a longer outage costs a client
# one cheap 503 per second.
DATABASE_RETRY_AFTER_SECONDS = 1


class DatabaseUnavailable(ProblemError):
    """The database is down, restarting, refusing connections, or the connection
    broke. Retrying later is the remedy; the services reconnect by themselves."""

    status, slug, title = 503, "database-unavailable", "Service Unavailable"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(
            detail, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}, **extra
        )


class TransactionConflict(ProblemError):
    """PostgreSQL rolled the transaction back because a concurrent one won
    (serialization failure, deadlock, lock not available): nothing was written,
    and the same request can be sent again."""

    status, slug, title = 503, "transaction-conflict", "Service Unavailable"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, headers={"Retry-After": "1"}, **extra)


def localise(body: dict[str, Any], language: Language) -> dict[str, Any]:
    """``body`` with its title, detail and service-written field messages in
    ``language``; the ``type`` is never touched. Texts with no translation yet stay
    English (see otog_shared.i18n for the rule)."""
    if language != "th":
        return body
    slug = str(body.get("type", "")).removeprefix(PROBLEM_BASE)
    english_title = body.get("title")
    title = title_th(slug, int(body.get("status", 500)))
    if title:
        body["title"] = title
    detail = body.get("detail")
    if isinstance(detail, str):
        if detail == english_title and title:
            body["detail"] = title
        else:
            body["detail"] = detail_th(detail) or detail
    for error in body.get("errors") or ():
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            error["message"] = field_message_th(error["message"]) or error["message"]
    return body


def problem_headers(language: Language) -> dict[str, str]:
    """The headers every problem+json response carries besides its own."""
    return {"Content-Language": language, "Vary": "Accept-Language"}


def _problem_response(
    body: dict[str, Any], status: int, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    rid = request_id_var.get()
    if rid and "request_id" not in body:
        body["request_id"] = rid
    language = language_var.get()
    localise(body, language)
    return JSONResponse(
        body,
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={**(headers or {}), **problem_headers(language)},
    )


def problem_response(exc: ProblemError) -> JSONResponse:
    """The response the handler would give ``exc``, for an endpoint that must answer
    an error yet keep (commit) what it wrote, such as a revocation it decided on."""
    return _problem_response(exc.to_problem(), exc.status, exc.headers)


_HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    411: "length-required",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    428: "precondition-required",
    429: "too-many-requests",
    431: "request-header-fields-too-large",
    500: "internal-error",
    503: "dependency-unavailable",
}


def http_problem(status: int, detail: str | None = None) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase
    return {
        "type": PROBLEM_BASE + _HTTP_SLUGS.get(status, "http-" + str(status)),
        "title": phrase,
        "status": status,
        "detail": detail or phrase,
    }


def _field_path(loc: Iterable[Any]) -> str:
    return ".".join(str(p) for p in loc)


def _is_malformed_body(exc: RequestValidationError) -> bool:
    return any(err.get("type") == "json_invalid" for err in exc.errors())


async def _handle_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    if exc.status >= 500:
        cause = exc.__cause__
        extra = {"cause": describe(cause)} if cause is not None else None
        log.warning("problem %s: %s", exc.slug, exc.detail, extra=extra)
    return _problem_response(exc.to_problem(), exc.status, exc.headers)


async def _handle_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if _is_malformed_body(exc):
        return _problem_response(http_problem(400, "The request body is not valid JSON."), 400)
    # Messages only: pydantic's "input" echo could carry a national ID back.
    thai = language_var.get() == "th"
    errors = [
        {
            "field": _field_path(e.get("loc", ())),
            "message": (thai and validation_message_th(e)) or str(e.get("msg", "invalid")),
        }
        for e in exc.errors()
    ]
    body = http_problem(422, "The request has invalid values.")
    body["errors"] = errors
    return _problem_response(body, 422)


async def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = "No resource at this path."
    return _problem_response(
        http_problem(exc.status_code, detail), exc.status_code, getattr(exc, "headers", None)
    )


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return _problem_response(
        http_problem(500, "An unexpected error occurred. Quote the request id to support."), 500
    )


_CONFLICT_DETAIL = (
    "This request's transaction conflicted with a concurrent one and was rolled back, "
    "so it changed nothing. Send it again."
)
_FAULT_DETAILS = {
    "lock_not_available": "A record this request needs stayed locked by another transaction; "
    "the request was rolled back and changed nothing. Send it again.",
    "query_canceled": "The database cancelled this request's statement (it took too long); "
    "the request changed nothing. Retry after the seconds in Retry-After.",
}
_UNAVAILABLE_DETAIL = (
    "The database is unavailable (restarting, or the connection to it failed). "
    "Retry after the seconds in Retry-After."
)


def database_problem(exc: BaseException) -> ProblemError | None:
    """The 503 a database fault answers, or None when ``exc`` is not one."""
    diagnosis = classify(exc)
    if diagnosis is None:
        return None
    if diagnosis.fault is Fault.CONFLICT:
        return TransactionConflict(_FAULT_DETAILS.get(diagnosis.reason, _CONFLICT_DETAIL))
    return DatabaseUnavailable(_FAULT_DETAILS.get(diagnosis.reason, _UNAVAILABLE_DETAIL))


async def _handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    """Database and driver errors: a fault is 503 and one log line; anything else
    is the unexpected 500, answered here so that nothing is re-raised to the
    server (which would log the exception once more)."""
    problem = database_problem(exc)
    if problem is None:
        return await _handle_unexpected(request, exc)
    log.warning("problem %s: %s", problem.slug, describe(exc))
    return _problem_response(problem.to_problem(), problem.status, problem.headers)


# Raised by the database layer; an ExceptionGroup can carry one from a task group.
_DATABASE_ERRORS: tuple[type[Exception], ...] = (
    SQLAlchemyError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    DatabaseUnreachable,
    ExceptionGroup,
)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _handle_problem)
    for cls in _DATABASE_ERRORS:
        app.add_exception_handler(cls, _handle_database_error)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(Exception, _handle_unexpected)


_DESCRIPTIONS = {
    400: "Malformed request.",
    401: "Missing or invalid bearer token.",
    403: "The token lacks a required scope or province.",
    404: "Not found (also for objects outside the caller's province).",
    409: "Conflict with the current state.",
    412: "The If-Match precondition failed.",
    413: "Request body too large.",
    422: "Valid JSON but invalid values.",
    429: "Rate limited.",
    503: "A dependency (the database, another service) is unavailable, or the request's "
    "transaction lost a race and was rolled back; retry after `Retry-After` seconds.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries declaring typed problem+json errors."""
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
