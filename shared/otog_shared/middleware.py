"""Request id and access-log middleware (pure ASGI, so streaming bodies pass through)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from otog_shared.context import client_id_var, person_var, request_id_var
from otog_shared.errors import PROBLEM_MEDIA_TYPE, http_problem, localise, problem_headers
from otog_shared.i18n import language_var, negotiate

REQUEST_ID_HEADER = "x-request-id"
# Only ids that are safe to echo into headers and logs are accepted from callers.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

access_log = logging.getLogger("otog.access")
log = logging.getLogger("otog.errors")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(incoming: str | None) -> str:
    """The caller's request id when it is safe to echo, otherwise a new one."""
    return incoming if incoming and _VALID_REQUEST_ID.match(incoming) else new_request_id()


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        incoming = None
        accept_language = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id" and incoming is None:
                incoming = value.decode("latin-1")
            elif name == b"accept-language" and accept_language is None:
                accept_language = value.decode("latin-1")
        rid = accept_request_id(incoming)
        rid_token = request_id_var.set(rid)
        language = negotiate(accept_language)
        language_token = language_var.set(language)
        cid_token = client_id_var.set(None)
        person_token = person_var.set(None)
        started = time.perf_counter()
        status_holder = {"status": 500, "started": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = 1
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", rid.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Handled here rather than in Starlette's outermost middleware so the
            # 500 still carries the request id (header, body and log line).
            log.exception("unhandled error")
            if status_holder["started"]:
                raise
            problem = http_problem(
                500, "An unexpected error occurred. Quote the request id to support."
            )
            body = json.dumps(
                {**localise(problem, language), "request_id": rid}, ensure_ascii=False
            ).encode()
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                        (b"content-length", str(len(body)).encode()),
                        *(
                            (k.lower().encode(), v.encode())
                            for k, v in problem_headers(language).items()
                        ),
                    ],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})
        finally:
            # The path only: query strings may carry identifiers we must not log.
            access_log.info(
                "%s %s %s",
                scope.get("method"),
                scope.get("path"),
                status_holder["status"],
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status_holder["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(rid_token)
            language_var.reset(language_token)
            client_id_var.reset(cid_token)
            person_var.reset(person_token)
