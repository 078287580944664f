"""Keyset (cursor) pagination: ``?limit=&cursor=`` in, ``{items, next_cursor}`` out."""

from __future__ import annotations

import base64
import binascii
import json
import typing
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from otog_shared.errors import FieldError, UnprocessableEntity

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def _page_examples(schema: dict[str, Any], cls: type[Any]) -> None:
    """A page of the item model's own examples (one or two) and a cursor to the next page.

    Every ``Page[X]`` gets an example this way, consistent with ``X``'s; a page model
    that sets its own ``examples`` keeps them.
    """
    if "examples" in schema or not issubclass(cls, BaseModel):
        return
    field = cls.model_fields.get("items")
    args = typing.get_args(field.annotation) if field is not None else ()
    item = args[0] if args else None
    if not (isinstance(item, type) and issubclass(item, BaseModel)):
        return
    extra = item.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    if not isinstance(examples, list) or not examples:
        return
    items = examples[:2]
    last = items[-1]
    key = last.get("id", last.get("code")) if isinstance(last, dict) else None
    schema["examples"] = [{"items": items, "next_cursor": encode_cursor([key])}]


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(json_schema_extra=_page_examples)

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last page."
    )


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def invalid_cursor() -> UnprocessableEntity:
    return UnprocessableEntity(
        "The cursor is not valid.",
        errors=[FieldError(field="query.cursor", message="not a cursor from this API")],
    )


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise invalid_cursor() from exc
    if not isinstance(values, list):
        raise invalid_cursor()
    return values


def unpack_cursor(after: list[Any], *parsers: Callable[[Any], Any]) -> list[Any]:
    """Parse each cursor value with its parser; a tampered cursor is a 422, not a 500."""
    if len(after) != len(parsers):
        raise invalid_cursor()
    try:
        return [parse(value) for parse, value in zip(parsers, after, strict=True)]
    except (TypeError, ValueError, AttributeError) as exc:
        raise invalid_cursor() from exc


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


@dataclass(frozen=True)
class PageParams:
    limit: int
    after: list[Any] | None


async def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Page size (default 50, max 200).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="Opaque cursor from `next_cursor`.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, after=decode_cursor(cursor) if cursor else None)


Pagination = Annotated[PageParams, Depends(page_params)]


def paginate(rows: list[T], params: PageParams, key: Any) -> tuple[list[T], str | None]:
    """Cut a ``limit + 1`` result to ``limit`` and make the next cursor from the last key."""
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        return rows, encode_cursor(list(key(rows[-1])))
    return rows, None
