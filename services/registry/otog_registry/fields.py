"""Reusable field types for request models.

Text is stored exactly as sent (after trimming surrounding whitespace), Thai or
not, including characters that mean something to SQL, HTML or shells. Only
what PostgreSQL cannot store (NUL) and invisible control characters in
one-line fields are refused.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from otog_registry.fiscal import BANGKOK

# Lone surrogates (JSON lets "\ud800" through) cannot be stored as UTF-8.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_CONTROL_EXCEPT_NEWLINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

# For free-text query parameters (searches, filters).
SEARCH_PATTERN = r"^[^\x00-\x1f\x7f]+$"


def _one_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _multi_line(value: str) -> str:
    if _CONTROL_EXCEPT_NEWLINES.search(value):
        raise ValueError("must not contain control characters other than tabs and newlines")
    return value


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_one_line),
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    AfterValidator(_one_line),
]
Reference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_one_line),
]
LongText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=10_000),
    AfterValidator(_multi_line),
]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{5,24}$"),
    Field(examples=["081-234-5678"]),
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=320,
        pattern=r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s]+$",
    ),
    Field(examples=["group@example.org"]),
]
ProvinceCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$"), Field(examples=["15"])]
DistrictCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$"), Field(examples=["1501"])]
SubdistrictCode = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{6}$"), Field(examples=["150114"])
]


def _assume_bangkok(value: datetime) -> datetime:
    # A time without an offset is read as Thai local time (the business time zone).
    return value if value.tzinfo else value.replace(tzinfo=BANGKOK)


_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_date_text(value: object) -> object:
    # JSON has no date type: a date is a "YYYY-MM-DD" string, never a number.
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


def _datetime_text(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date and time")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_text), Field(examples=["2025-03-31"])]

LocalDatetime = Annotated[
    datetime,
    BeforeValidator(_datetime_text),
    AfterValidator(_assume_bangkok),
    Field(description="RFC 3339; a time without an offset is taken as Asia/Bangkok."),
]
