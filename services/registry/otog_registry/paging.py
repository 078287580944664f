"""Keyset cursors of the registry's lists (ordered by time-ordered UUID ids)."""

from __future__ import annotations

import uuid

from otog_shared.errors import FieldError, UnprocessableEntity
from otog_shared.pagination import PageParams


def _bad_cursor() -> UnprocessableEntity:
    return UnprocessableEntity(
        "The cursor is not valid.",
        errors=[FieldError(field="query.cursor", message="not a cursor from this API")],
    )


def after_id(page: PageParams) -> uuid.UUID | None:
    if not page.after:
        return None
    try:
        return uuid.UUID(str(page.after[0]))
    except ValueError as exc:
        raise _bad_cursor() from exc


def after_code(page: PageParams) -> str | None:
    if not page.after:
        return None
    value = page.after[0]
    if not isinstance(value, str) or not value.isdigit():
        raise _bad_cursor()
    return value
