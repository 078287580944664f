"""Thai 13-digit national ID numbers (เลขประจำตัวประชาชน).

The 13th digit is a checksum: with weights 13..2 over the first 12 digits,
``(11 - sum % 11) % 10``. Error messages never repeat the number itself.
"""

from __future__ import annotations

import operator
import re
from typing import Annotated

from pydantic import BeforeValidator, Field

_SEPARATORS = re.compile(r"[\s-]")


_WEIGHTS = tuple(range(13, 1, -1))
# The digits' code points are 48 more than their values.
_CODE_POINT_BIAS = 48 * sum(_WEIGHTS)


def checksum_digit(first_twelve: str) -> int:
    """For 12 ASCII digits (what callers pass); bytes and map keep it cheap for bulk imports."""
    total: int = sum(map(operator.mul, first_twelve.encode(), _WEIGHTS)) - _CODE_POINT_BIAS
    return (11 - total % 11) % 10


def normalize(value: str) -> str:
    """Digits only: people write the ID as ``1-2345-67890-12-1`` or with spaces."""
    return _SEPARATORS.sub("", value)


def problem_with(value: str) -> str | None:
    """Why ``value`` (already normalized) is not a valid national ID, or None if it is."""
    if len(value) != 13 or not value.isascii() or not value.isdigit():
        return "must be 13 digits"
    if checksum_digit(value[:12]) != int(value[12]):
        return "the check digit does not match"
    return None


def is_valid(value: str) -> bool:
    return problem_with(normalize(value)) is None


def mask(value: str) -> str:
    """``x-xxxx-xxxx9-01-2``: the last four digits, in the usual 1-4-5-2-1 grouping.

    Enough for an officer to confirm a card in hand, not enough to find the person.
    """
    return f"x-xxxx-xxxx{value[9]}-{value[10:12]}-{value[12]}"


def _validate(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string of 13 digits")
    digits = normalize(value)
    problem = problem_with(digits)
    if problem:
        raise ValueError(problem)
    return digits


NationalId = Annotated[
    str,
    BeforeValidator(_validate),
    Field(
        description=(
            "13-digit Thai national ID; dashes and spaces are ignored. The last digit "
            "is the checksum (mod 11 over the first 12 digits, weights 13..2)."
        ),
        examples=["1101700203450"],
        json_schema_extra={"pattern": r"^[0-9][0-9 -]{11,20}[0-9]$"},
    ),
]
