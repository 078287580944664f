"""Reusable field types for request models.

Text is stored exactly as sent after trimming surrounding whitespace (Python's
``str.strip()``), Thai or not, including characters that mean something to SQL,
HTML or shells. Only what PostgreSQL cannot store (NUL) and invisible control
characters in one-line fields are refused. Lengths count the text as sent.

Each type's JSON schema states the same rule as its validator (a pattern over
the text as sent, with the whitespace a strip removes allowed at either end), so
generated clients and fuzzers believe nothing the API refuses; a property test
holds the two equal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WithJsonSchema

from otog_registry.fiscal import BANGKOK

# What ``str.strip()`` removes: the characters ``str.isspace()`` calls whitespace
# (a test checks this list against every code point).
STRIPPED = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_CONTROL_CHARS = "".join(map(chr, [*range(0x20), 0x7F]))
# Tabs and line breaks are text in a multi-line field.
_CONTROL_CHARS_MULTI_LINE = "".join(c for c in _CONTROL_CHARS if c not in "\t\n\r")

# Lone surrogates (JSON lets "\ud800" through) cannot be stored as UTF-8.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_CONTROL_EXCEPT_NEWLINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

# For free-text query parameters (searches, filters).
SEARCH_PATTERN = r"^[^\x00-\x1f\x7f]+$"


def char_class(chars: str, *, negate: bool = False) -> str:
    """A regex character class read alike by ECMA-262 (JSON Schema), Python and Rust."""
    codes = sorted({ord(c) for c in chars})
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    body = "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)
    return f"[{'^' if negate else ''}{body}]"


_SPACE = char_class(STRIPPED)


def padded(inner: str) -> str:
    """The pattern of a text whose stripped value matches ``inner`` (whose matches are
    empty or start and end with a character a strip keeps)."""
    return f"^{_SPACE}*{inner}{_SPACE}*$"


_EDGE = char_class(STRIPPED + _CONTROL_CHARS, negate=True)
_INNER = char_class(_CONTROL_CHARS, negate=True)
_EDGE_MULTI_LINE = char_class(STRIPPED + _CONTROL_CHARS_MULTI_LINE, negate=True)
_INNER_MULTI_LINE = char_class(_CONTROL_CHARS_MULTI_LINE, negate=True)
ONE_LINE_PATTERN = padded(f"{_EDGE}(?:{_INNER}*{_EDGE})?")
_MULTI_LINE_TEXT = f"{_EDGE_MULTI_LINE}(?:{_INNER_MULTI_LINE}*{_EDGE_MULTI_LINE})?"
REQUIRED_MULTI_LINE_PATTERN = padded(_MULTI_LINE_TEXT)
# A multi-line text may be empty once stripped.
MULTI_LINE_PATTERN = padded(f"(?:{_MULTI_LINE_TEXT})?")


def _one_line(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty or only spaces")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _multi_line(value: str) -> str:
    value = value.strip()
    if _CONTROL_EXCEPT_NEWLINES.search(value):
        raise ValueError("must not contain control characters other than tabs and newlines")
    return value


def _multi_line_required(value: str) -> str:
    value = _multi_line(value)
    if not value:
        raise ValueError("must not be empty or only spaces")
    return value


def _text(max_length: int, check: Callable[[str], str], pattern: str) -> Any:
    return Annotated[
        str,
        StringConstraints(max_length=max_length),
        AfterValidator(check),
        WithJsonSchema({"type": "string", "maxLength": max_length, "pattern": pattern}),
    ]


Name = _text(200, _one_line, ONE_LINE_PATTERN)
ShortText = _text(500, _one_line, ONE_LINE_PATTERN)
Reference = _text(100, _one_line, ONE_LINE_PATTERN)
LongText = _text(10_000, _multi_line, MULTI_LINE_PATTERN)
RequiredLongText = _text(10_000, _multi_line_required, REQUIRED_MULTI_LINE_PATTERN)


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
_EMAIL_PART = char_class("@" + STRIPPED + _CONTROL_CHARS, negate=True)
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
