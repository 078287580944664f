"""Field types shared by the loan ledger's request and response models."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

# Integer satang only: strings, floats and booleans are refused, not coerced.
# The ceiling (100 billion THB) keeps every sum far inside a signed 64-bit integer.
MAX_SATANG = 10_000_000_000_000

Satang = Annotated[int, Field(strict=True, ge=1, le=MAX_SATANG)]
ProvinceCode = Annotated[str, Field(pattern=r"^[0-9]{2}$", examples=["10"])]

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_date(value: object) -> object:
    # Pydantic would read 0 or "0" as a Unix timestamp (1970-01-01); a business
    # date is only ever written YYYY-MM-DD.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters other than tabs and newlines")
    return value


def _text(max_length: int) -> object:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


# Free text, stored as sent after trimming; NUL and other control characters refused.
ShortText = Annotated[str, _text(200), AfterValidator(_printable)]
MediumText = Annotated[str, _text(500), AfterValidator(_printable)]
LongText = Annotated[str, _text(2000), AfterValidator(_printable)]
