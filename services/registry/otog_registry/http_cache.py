"""Responses that clients and proxies may cache: ``ETag``, ``Cache-Control``, 304."""

from __future__ import annotations

import hashlib

from fastapi import Request, Response
from pydantic import BaseModel


def _matches(if_none_match: str, etag: str) -> bool:
    # Weak comparison (RFC 9110 §13.1.2): W/"x" and "x" are the same for GET.
    candidates = {c.strip().removeprefix("W/") for c in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def cached_json(
    request: Request, payload: BaseModel, *, max_age: int, public: bool = True
) -> Response:
    body = payload.model_dump_json().encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"{'public' if public else 'private'}, max-age={max_age}",
    }
    inm = request.headers.get("if-none-match")
    if inm and _matches(inm, etag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)
