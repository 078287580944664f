"""Registry request schemas say what the API accepts: PATCH bodies are nullable only where a
field can be emptied, and each text type's JSON schema accepts exactly what its validator
accepts (generated clients and fuzzers believe the schema)."""

from __future__ import annotations

import sys
from typing import Any

import httpx
import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from otog_registry import fields
from otog_registry.groups.schemas import GroupUpdate
from otog_registry.products.schemas import CertificationCreate, ProductUpdate
from otog_registry.workers.schemas import WorkerCreate, WorkerUpdate
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.registry.conftest import assert_problem, create_group, create_worker, worker_body


def test_stripped_is_what_a_strip_removes() -> None:
    spaces = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
    assert spaces == fields.STRIPPED
    assert all(
        ("a" + c + "b").strip() == "a" + c + "b" and (c + "a").strip() == "a" for c in spaces
    )


@pytest.mark.parametrize(
    ("model", "clearable", "kept"),
    [
        (
            GroupUpdate,
            {"name_en", "contact_name", "contact_phone", "contact_email", "description"},
            {"name_th", "occupation"},
        ),
        (
            WorkerUpdate,
            {"first_name_en", "last_name_en", "phone", "consent_given_at"},
            {
                "first_name_th",
                "last_name_th",
                "birth_date",
                "subdistrict_code",
                "social_security",
                "pdpa_basis",
            },
        ),
        (
            ProductUpdate,
            {"name_en", "description", "price_satang", "unit", "packaging_notes"},
            {"name_th", "is_premium", "is_available"},
        ),
    ],
)
def test_patch_schemas_are_nullable_only_where_the_api_empties(
    model: type[BaseModel], clearable: set[str], kept: set[str]
) -> None:
    properties = model.model_json_schema()["properties"]
    assert set(properties) == clearable | kept
    for name, schema in properties.items():
        nullable = {"type": "null"} in schema.get("anyOf", [])
        assert nullable == (name in clearable), name


async def test_patch_null_on_a_field_that_cannot_be_emptied_is_a_422_naming_it(
    registry_session: tuple[httpx.AsyncClient, AsyncSession], writer: dict[str, str]
) -> None:
    from otog_registry.workers.models import Worker

    registry, session = registry_session
    worker = await create_worker(registry, writer, phone="081-234-5678")
    url = f"/v1/workers/{worker['id']}"
    for field in (
        "pdpa_basis",
        "first_name_th",
        "birth_date",
        "subdistrict_code",
        "social_security",
    ):
        r = await registry.patch(url, json={"phone": "089-000-0000", field: None}, headers=writer)
        body = assert_problem(r, 422, "validation-error")
        assert [e["field"] for e in body["errors"]] == [f"body.{field}"], body
    stored = (await session.scalars(select(Worker).where(Worker.id == worker["id"]))).one()
    assert stored.phone == "081-234-5678" and stored.pdpa_basis == "public_task"
    r = await registry.patch(url, json={"phone": None, "last_name_en": None}, headers=writer)
    assert r.status_code == 200, r.text
    assert r.json()["phone"] is None and r.json()["last_name_en"] is None
    # Consent needs its time: emptying it while the basis is consent is refused.
    r = await registry.patch(
        url,
        json={"pdpa_basis": "consent", "consent_given_at": "2025-01-15T10:00:00+07:00"},
        headers=writer,
    )
    assert r.status_code == 200, r.text
    assert_problem(await registry.patch(url, json={"consent_given_at": None}, headers=writer), 422)
    r = await registry.patch(
        url, json={"pdpa_basis": "consent", "consent_given_at": None}, headers=writer
    )
    assert_problem(r, 422)


async def test_group_and_product_patch_nulls(
    registry: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    group = await create_group(registry, writer, contact_name="สมศรี ใจดี")
    url = f"/v1/groups/{group['id']}"
    for field in ("name_th", "occupation"):
        body = assert_problem(await registry.patch(url, json={field: None}, headers=writer), 422)
        assert [e["field"] for e in body["errors"]] == [f"body.{field}"]
    r = await registry.patch(url, json={"contact_name": None, "name_en": None}, headers=writer)
    assert r.status_code == 200 and r.json()["contact_name"] is None and r.json()["name_en"] is None
    r = await registry.post(
        f"/v1/groups/{group['id']}/products",
        json={"name_th": "พวงหรีด", "unit": "ชิ้น", "price_satang": 15000},
        headers=writer,
    )
    product_url = f"/v1/products/{r.json()['id']}"
    for field in ("name_th", "is_premium", "is_available"):
        r = await registry.patch(product_url, json={field: None}, headers=writer)
        assert [e["field"] for e in assert_problem(r, 422)["errors"]] == [f"body.{field}"]
    r = await registry.patch(product_url, json={"unit": None, "price_satang": None}, headers=writer)
    assert r.status_code == 200 and r.json()["unit"] is None and r.json()["price_satang"] is None


# Text the validators meet: around and inside, whitespace a strip removes, controls, Thai.
_PIECES = st.sampled_from(
    [*fields.STRIPPED, "\x00", "\x01", "\x7f", "\x08", "a", "ก", "-", "+", "@", ".", "5", "x"]
)
_TEXT = st.one_of(
    st.text(max_size=12),
    st.lists(_PIECES, max_size=12).map("".join),
    st.builds(lambda a, b, c: a + b + c, st.text(_PIECES, max_size=3), st.text(), st.text(_PIECES)),
)
_TYPES: dict[str, Any] = {
    "Name": fields.Name,
    "LongText": fields.LongText,
    "RequiredLongText": fields.RequiredLongText,
    "Phone": fields.Phone,
    "Email": fields.Email,
}


@pytest.mark.parametrize("name", list(_TYPES))
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=_TEXT)
def test_text_schemas_accept_exactly_what_the_validators_accept(name: str, value: str) -> None:
    adapter: TypeAdapter[str] = TypeAdapter(_TYPES[name])
    schema = adapter.json_schema()
    valid_by_schema = jsonschema_rs.Draft202012Validator(schema).is_valid(value)
    try:
        adapter.validate_python(value)
        valid_by_model = True
    except ValidationError:
        valid_by_model = False
    assert valid_by_schema == valid_by_model, (name, value)


def _valid(model: type[BaseModel], body: dict[str, Any]) -> tuple[bool, bool]:
    schema = TypeAdapter(model).json_schema(ref_template="#/$defs/{model}")
    by_schema = jsonschema_rs.Draft202012Validator(schema).is_valid(body)
    try:
        model.model_validate(body)
        by_model = True
    except ValidationError:
        by_model = False
    return by_schema, by_model


@pytest.mark.parametrize(
    ("model", "body", "valid"),
    [
        (WorkerCreate, worker_body(pdpa_basis="consent"), False),
        (WorkerCreate, worker_body(pdpa_basis="consent", consent_given_at=None), False),
        (
            WorkerCreate,
            worker_body(pdpa_basis="consent", consent_given_at="2025-01-15T10:00:00+07:00"),
            True,
        ),
        (WorkerUpdate, {"pdpa_basis": "consent", "consent_given_at": None}, False),
        (WorkerUpdate, {"pdpa_basis": "consent"}, True),
        (WorkerUpdate, {"consent_given_at": None}, True),
        (
            CertificationCreate,
            {"standard": "other", "number": "1", "issued_on": "2024-01-01"},
            False,
        ),
        (
            CertificationCreate,
            {"standard": "other", "standard_name": "GI", "number": "1", "issued_on": "2024-01-01"},
            True,
        ),
    ],
)
def test_conditional_rules_are_in_the_schema(
    model: type[BaseModel], body: dict[str, Any], valid: bool
) -> None:
    assert _valid(model, body) == (valid, valid)
