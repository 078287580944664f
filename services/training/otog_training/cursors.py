"""Reading keyset cursors back without trusting them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from otog_shared.errors import FieldError, UnprocessableEntity


def _bad_cursor() -> UnprocessableEntity:
    return UnprocessableEntity(
        "The cursor is not valid.",
        errors=[FieldError(field="query.cursor", message="not a cursor from this API")],
    )


def unpack(after: list[Any], *parsers: Callable[[Any], Any]) -> list[Any]:
    """Parse each cursor value with its parser; a tampered cursor is a 422, not a 500."""
    if len(after) != len(parsers):
        raise _bad_cursor()
    try:
        return [parse(value) for parse, value in zip(parsers, after, strict=True)]
    except (TypeError, ValueError, AttributeError) as exc:
        raise _bad_cursor() from exc


def as_uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(str(value))


def as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def as_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("not an integer")
    return value


def as_date(value: Any) -> date:
    return date.fromisoformat(str(value))


def as_datetime(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("naive time")
    return moment
