from __future__ import annotations

import enum
from datetime import date
from uuid import UUID

import pytest
from otog_shared.schemas import PatchModel, RequestModel
from pydantic import Field, ValidationError


class Role(enum.StrEnum):
    leader = "leader"
    member = "member"


class Body(RequestModel):
    on: date
    maybe_on: date | None = None
    flag: bool = False
    amount_satang: int = Field(ge=0)
    role: Role = Role.member
    ref: UUID | None = None
    note: str | None = None


GOOD = {"on": "2025-04-10", "amount_satang": 5_000_000}


def test_json_values_of_the_right_type_pass() -> None:
    body = Body.model_validate(
        {
            **GOOD,
            "flag": True,
            "role": "leader",
            "ref": "7d0f4a7e-0000-4000-8000-000000000000",
            "maybe_on": None,
            "note": "ข้อความ",
        }
    )
    assert body.on == date(2025, 4, 10) and body.flag is True and body.role is Role.leader


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("on", 0),
        ("maybe_on", 20250410),
        ("flag", 0),
        ("flag", "true"),
        ("amount_satang", "5000000"),
        ("amount_satang", 5000000.5),
        ("amount_satang", float("nan")),
        ("amount_satang", True),
        ("role", 1),
        ("note", 12),
        ("note", ["x"]),
        ("note", "nul\x00byte"),
        ("note", "lone \udba0 surrogate"),
    ],
)
def test_wrong_json_types_are_rejected_at_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        Body.model_validate({**GOOD, field: value})
    assert [e["loc"] for e in info.value.errors()] == [(field,)]


def test_an_integral_json_number_is_an_integer() -> None:
    """JSON Schema's `integer` is any number without a fraction: `5000000.0` included."""
    body = Body.model_validate({**GOOD, "amount_satang": 5000000.0})
    assert body.amount_satang == 5000000 and type(body.amount_satang) is int


def test_python_objects_built_in_code_still_work() -> None:
    assert Body(on=date(2025, 1, 1), amount_satang=1).on == date(2025, 1, 1)


class Patch(PatchModel):
    clearable = frozenset({"note"})

    name: str | None = Field(default=None, min_length=1)
    note: str | None = None


def test_a_patch_field_left_out_stays_unset() -> None:
    assert Patch.model_validate({}).model_fields_set == set()


def test_only_clearable_patch_fields_take_null() -> None:
    assert Patch.model_validate({"note": None}).model_dump(exclude_unset=True) == {"note": None}
    with pytest.raises(ValidationError) as caught:
        Patch.model_validate({"name": None})
    (error,) = caught.value.errors()
    assert error["loc"] == ("name",)
    assert "may not be null" in error["msg"]


def test_the_patch_schema_says_which_fields_are_nullable() -> None:
    properties = Patch.model_json_schema()["properties"]
    assert properties["name"] == {"type": "string", "minLength": 1, "title": "Name"}
    assert {"type": "null"} in properties["note"]["anyOf"]
