"""Field types shared by the loan ledger's request and response models."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from otog_shared.text import multi_line_text
from pydantic import BeforeValidator, Field

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

# Free text, stored as sent after trimming; NUL and control characters other than tabs
# and line breaks refused; the schemas say so (``otog_shared.text``).
ShortText = multi_line_text(200, required=True)
MediumText = multi_line_text(500, required=True)
LongText = multi_line_text(2000, required=True)
