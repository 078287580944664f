"""Strong ETags from a row version, and ``If-Match`` checking for PATCH."""

from __future__ import annotations

import hashlib

from fastapi import Request

from otog_shared.errors import PreconditionFailed


def etag_for(*parts: object) -> str:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f'"{digest}"'


def check_if_match(request: Request, current: str) -> None:
    header = request.headers.get("if-match")
    if header is None:
        return
    candidates = [c.strip() for c in header.split(",")]
    if "*" in candidates:
        return
    # A weak validator never matches for a write (RFC 9110 §13.1.1).
    if current not in candidates:
        raise PreconditionFailed(
            "The resource has changed since it was read; fetch it again and retry."
        )
