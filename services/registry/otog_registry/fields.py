"""Reusable field types for the registry's request models.

Free text (names, descriptions, references) is ``otog_shared.text``'s: stored as sent
after trimming, NUL and invisible control characters refused, and each type's JSON
schema states the same rule as its validator. Phones and emails follow the same idea.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

from otog_shared.text import (  # noqa: F401  (re-exported for the registry's schemas)
    CONTROL_CHARS,
    MULTI_LINE_PATTERN,
    ONE_LINE_PATTERN,
    REQUIRED_MULTI_LINE_PATTERN,
    STRIPPED,
    char_class,
    multi_line_text,
    one_line_text,
    padded,
)
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WithJsonSchema

from otog_registry.fiscal import BANGKOK

Name = one_line_text(200)
ShortText = one_line_text(500)
Reference = one_line_text(100)
LongText = multi_line_text(10_000)
RequiredLongText = multi_line_text(10_000, required=True)


def _matching(inner: str, message: str) -> Callable[[str], str]:
    compiled = re.compile(inner)

    def check(value: str) -> str:
        value = value.strip()
        if not compiled.fullmatch(value):
            raise ValueError(message)
        return value

    return check


# Digits, spaces and dashes, optionally after "+"; 6 to 25 characters.
_PHONE = r"\+?[0-9][0-9 -]{4,23}[0-9-]"
Phone = Annotated[
    str,
    AfterValidator(_matching(_PHONE, "must be a phone number: digits, spaces and dashes")),
    WithJsonSchema({"type": "string", "pattern": padded(_PHONE)}),
    Field(examples=["081-234-5678"]),
]
_EMAIL_PART = char_class("@" + STRIPPED + CONTROL_CHARS, negate=True)
_EMAIL = f"{_EMAIL_PART}+@{_EMAIL_PART}+\\.{_EMAIL_PART}+"
Email = Annotated[
    str,
    StringConstraints(max_length=320),
    AfterValidator(_matching(_EMAIL, "must be an email address")),
    WithJsonSchema({"type": "string", "maxLength": 320, "pattern": padded(_EMAIL)}),
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
