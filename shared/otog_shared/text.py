"""Free-text field types whose JSON schema states exactly what their validator accepts.

Text is stored as sent after trimming surrounding whitespace (Python's
``str.strip()``), Thai or not, including characters that mean something to SQL,
HTML or shells. Only what PostgreSQL cannot store (NUL) and invisible control
characters are refused (tabs and line breaks are text in a multi-line field).
Lengths count the text as sent.

Each type's schema is a pattern over the text as sent, with the whitespace a strip
removes allowed at either end, so generated clients and fuzzers believe nothing
the API refuses; a property test holds the two equal. Every service's free text
uses these, so the rule is stated once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints, WithJsonSchema

# What ``str.strip()`` removes: the characters ``str.isspace()`` calls whitespace
# (a test checks this list against every code point).
STRIPPED = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
CONTROL_CHARS = "".join(map(chr, [*range(0x20), 0x7F]))
# Tabs and line breaks are text in a multi-line field.
_CONTROL_CHARS_MULTI_LINE = "".join(c for c in CONTROL_CHARS if c not in "\t\n\r")

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


_EDGE = char_class(STRIPPED + CONTROL_CHARS, negate=True)
_INNER = char_class(CONTROL_CHARS, negate=True)
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


def text_type(max_length: int, check: Callable[[str], str], pattern: str) -> Any:
    return Annotated[
        str,
        StringConstraints(max_length=max_length),
        AfterValidator(check),
        WithJsonSchema({"type": "string", "maxLength": max_length, "pattern": pattern}),
    ]


def one_line_text(max_length: int) -> Any:
    """Required one-line text: not empty once trimmed, no control characters."""
    return text_type(max_length, _one_line, ONE_LINE_PATTERN)


def multi_line_text(max_length: int, *, required: bool = False) -> Any:
    """Text with tabs and line breaks; empty once trimmed only when not ``required``."""
    if required:
        return text_type(max_length, _multi_line_required, REQUIRED_MULTI_LINE_PATTERN)
    return text_type(max_length, _multi_line, MULTI_LINE_PATTERN)
