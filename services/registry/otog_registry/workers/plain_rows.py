"""A quick yes for the plainly valid CSV row; the request model decides everything else.

Validating a row through ``WorkerCreate`` costs tens of microseconds, most of it
in machinery a well-formed registry export never needs (type coercion, error
collection, the wrong-JSON-type guard). ``PlainRowCheck`` accepts only rows
whose every cell is in the simplest valid form (13 bare digits with a good
check digit, names without surrounding space or control characters, an
ISO date, exact enum values, no consent timestamp) and returns the values the
model would have produced. Any row it is unsure of, valid or not, goes to the
model, which stays the one place the rules and their messages live. A property
test checks that every row accepted here is accepted by the model with the
same values.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, NamedTuple

from otog_registry.pii.national_id import checksum_digit
from otog_registry.workers.schemas import PdpaBasis, SocialSecurity, WorkerCreate

# What ``Name`` refuses, plus anything a strip would remove: a name matching
# this is left to the model.
_NOT_PLAIN_NAME = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]|^\s|\s$")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PHONE = re.compile(r"\+?[0-9][0-9 -]{5,24}")
_SOCIAL = {s.value for s in SocialSecurity}
_BASES = {b.value for b in PdpaBasis if b is not PdpaBasis.consent}
_NAME_MAX = 200

# The import's columns: the names of ``POST /v1/workers``'s fields.
REQUIRED_COLUMNS = (
    "national_id",
    "first_name_th",
    "last_name_th",
    "birth_date",
    "subdistrict_code",
)
OPTIONAL_COLUMNS = (
    "first_name_en",
    "last_name_en",
    "phone",
    "social_security",
    "pdpa_basis",
    "consent_given_at",
)


class WorkerRow(NamedTuple):
    national_id: str
    first_name_th: str
    last_name_th: str
    first_name_en: str | None
    last_name_en: str | None
    birth_date: date
    subdistrict_code: str
    phone: str | None
    social_security: str
    pdpa_basis: str
    consent_given_at: datetime | None = None

    @classmethod
    def from_model(cls, worker: WorkerCreate) -> WorkerRow:
        return cls(
            worker.national_id,
            worker.first_name_th,
            worker.last_name_th,
            worker.first_name_en,
            worker.last_name_en,
            worker.birth_date,
            worker.subdistrict_code,
            worker.phone,
            worker.social_security.value,
            worker.pdpa_basis.value,
            worker.consent_given_at,
        )


def _name(value: str | None) -> bool:
    return value is not None and 0 < len(value) <= _NAME_MAX and not _NOT_PLAIN_NAME.search(value)


def _national_id(value: str | None) -> bool:
    return (
        value is not None
        and len(value) == 13
        and value.isascii()
        and value.isdigit()
        and checksum_digit(value[:12]) == ord(value[12]) - 48
    )


def _birth_date(value: str | None, today: date) -> date | None:
    if value is None or not _ISO_DATE.fullmatch(value):
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.year >= 1900 and parsed <= today else None


class PlainRowCheck:
    """Built once per import with its header; ``today`` is read once, so a birth
    date of a day that begins during the import is left to the model."""

    def __init__(self, header: list[str], subdistricts: set[str] | dict[str, Any]) -> None:
        index = {name: i for i, name in enumerate(header)}
        self._national_id = index["national_id"]
        self._first_th = index["first_name_th"]
        self._last_th = index["last_name_th"]
        self._birth = index["birth_date"]
        self._subdistrict = index["subdistrict_code"]
        # In OPTIONAL_COLUMNS order, as ``check`` unpacks them.
        self._optional = tuple(index.get(name) for name in OPTIONAL_COLUMNS)
        self._no_optional = all(i is None for i in self._optional)
        self._subdistricts = subdistricts
        self._today = date.today()

    def check(self, cells: list[str | None]) -> WorkerRow | None:
        """The row's values when it is plainly valid, else None (ask the model)."""
        if self._no_optional:
            first_en = last_en = phone = social = basis = None
        else:
            first_en, last_en, phone, social, basis, consent = (
                None if i is None else cells[i] for i in self._optional
            )
            if consent is not None:
                return None
        nid = cells[self._national_id]
        first_th = cells[self._first_th]
        last_th = cells[self._last_th]
        subdistrict = cells[self._subdistrict]
        if not (
            _national_id(nid)
            and _name(first_th)
            and _name(last_th)
            and subdistrict in self._subdistricts
        ):
            return None
        born = _birth_date(cells[self._birth], self._today)
        if born is None:
            return None
        if (first_en is not None and not _name(first_en)) or (
            last_en is not None and not _name(last_en)
        ):
            return None
        if phone is not None and (phone != phone.strip() or not _PHONE.fullmatch(phone)):
            return None
        social = social or SocialSecurity.unknown.value
        basis = basis or PdpaBasis.public_task.value
        if social not in _SOCIAL or basis not in _BASES:
            return None
        assert nid is not None and first_th is not None and last_th is not None
        assert subdistrict is not None
        return WorkerRow(
            nid, first_th, last_th, first_en, last_en, born, subdistrict, phone, social, basis
        )
