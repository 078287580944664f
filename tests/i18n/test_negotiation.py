"""Accept-Language negotiation and the Thai catalogue's templates (no services needed)."""

from __future__ import annotations

import re

import pytest
from otog_shared.i18n import (
    DETAILS_TH,
    FIELD_MESSAGES_TH,
    detail_th,
    negotiate,
    validation_message_th,
)


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("th", "th"),
        ("TH", "th"),
        ("th-TH", "th"),
        ("th-TH-u-nu-thai", "th"),
        ("th;q=0.9,en;q=0.8", "th"),
        ("en;q=0.8, th;q=0.9", "th"),
        ("en-US,en;q=0.9,th;q=0.8", "en"),
        ("th;q=0.5, en;q=0.5", "th"),  # equal weights: the first listed wins
        ("en;q=0.5, th;q=0.5", "en"),
        ("fr, de;q=0.9", "en"),  # nothing we speak: the default
        ("fr, th;q=0.2", "th"),
        ("th;q=0", "en"),  # "not Thai"
        ("th;q=0, *;q=0.1", "en"),
        ("*", "en"),
        ("th;q=abc", "en"),  # a malformed weight is ignored, not read as 1
        ("th ; q=0.7 , en ; q=0.3", "th"),
        ("thai", "en"),
    ],
)
def test_negotiate(header: str | None, language: str) -> None:
    assert negotiate(header) == language


_FIELDS = re.compile(r"\{(\w*)\}")


@pytest.mark.parametrize("catalogue", [DETAILS_TH, FIELD_MESSAGES_TH])
def test_thai_templates_use_only_the_english_placeholders(catalogue: dict[str, str]) -> None:
    # A Thai text may leave a value out, never name one the English does not capture.
    for english, thai in catalogue.items():
        assert set(_FIELDS.findall(thai)) <= set(_FIELDS.findall(english)), english
        assert thai.strip() and thai != english


def test_templated_details_fill_in_the_values() -> None:
    assert detail_th("The fund has 1500000 satang available; this loan needs 5000000.") == (
        "กองทุนมีเงินคงเหลือให้กู้ 1500000 สตางค์ แต่เงินกู้นี้ต้องใช้ 5000000 สตางค์"
    )
    assert detail_th("Subdistrict 150114 already has a prototype group for fiscal year 2568.") == (
        "ตำบลรหัส 150114 มีกลุ่มต้นแบบของปีงบประมาณ 2568 อยู่แล้ว"
    )
    assert detail_th("Something nobody translated.") is None


def test_validation_messages_name_the_field_in_thai() -> None:
    message = validation_message_th(
        {"type": "string_too_long", "loc": ("body", "national_id"), "ctx": {"max_length": 13}}
    )
    assert message == "เลขประจำตัวประชาชนต้องมีไม่เกิน 13 ตัวอักษร"
    assert validation_message_th({"type": "missing", "loc": ("body", "birth_date")}) == (
        "กรุณากรอกวันเกิด"
    )
    # A field without a Thai label still gets a Thai sentence.
    assert validation_message_th({"type": "missing", "loc": ("body", "zzz")}) == "กรุณากรอกช่องนี้"
    # A validator's own ValueError is translated by its text.
    assert validation_message_th(
        {
            "type": "value_error",
            "loc": ("body", "national_id"),
            "ctx": {"error": ValueError("must be a string of 13 digits")},
        }
    ) == ("ต้องเป็นตัวเลข 13 หลัก")
    assert validation_message_th({"type": "some_new_type", "loc": ("body",)}) is None


@pytest.mark.parametrize(
    "english",
    [
        "This person is already registered.",
        "Subdistrict 620413 already has a prototype group for fiscal year 2569.",
        "4 people already hold a seat; the capacity cannot go below that.",
        "The session is cancelled; it takes no more bookings.",
        "Booking for this session has closed.",
        "The fund has 0 satang available; this loan needs 5000000.",
        "The fund lends from 1000000 to 5000000 satang.",
        "The fund takes applications from 2026-10-01.",
        "The fund stopped taking applications after 2026-09-30 (Asia/Bangkok).",
        "A disbursed loan cannot be approved.",
        "A running session cannot be cancelled.",
        "Only an active loan takes repayments; this one is repaid.",
        "The loan has 100 satang outstanding; 200 is more than that.",
        "A group in stage 'registered' cannot move to 'dissolved'.",
        "The group is dissolved and may not apply for a loan.",
        "The group already has a leader; remove them first.",
    ],
)
def test_frequent_domain_details_have_thai(english: str) -> None:
    thai = detail_th(english)
    assert thai and any("\u0e00" <= ch <= "\u0e7f" for ch in thai), english
