"""Field types shared by the loan ledger's request and response models."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# Integer satang only: strings, floats and booleans are refused, not coerced.
# The ceiling (100 billion THB) keeps every sum far inside a signed 64-bit integer.
MAX_SATANG = 10_000_000_000_000

Satang = Annotated[int, Field(strict=True, ge=1, le=MAX_SATANG)]
ProvinceCode = Annotated[str, Field(pattern=r"^[0-9]{2}$", examples=["10"])]
