"""Keyset cursors of the registry's lists (ordered by time-ordered UUID ids)."""

from __future__ import annotations

import uuid
from typing import Any

from otog_shared.pagination import PageParams, as_str, as_uuid, unpack_cursor


def after_id(page: PageParams) -> uuid.UUID | None:
    if not page.after:
        return None
    value: uuid.UUID = unpack_cursor(page.after[:1], as_uuid)[0]
    return value


def _digits(value: Any) -> str:
    text = as_str(value)
    if not text.isdigit():
        raise ValueError("not a code")
    return text


def after_code(page: PageParams) -> str | None:
    if not page.after:
        return None
    value: str = unpack_cursor(page.after[:1], _digits)[0]
    return value
