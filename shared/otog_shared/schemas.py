"""Base class for request bodies: JSON types are taken at their word.

Pydantic's lax mode turns ``0`` into ``False`` or 1970-01-01 and ``"12"`` into
12. For a public contract that is a bug: a client sending the wrong JSON type
has a bug of its own and should hear about it (422), not have its data
reinterpreted. Values of the wrong JSON type, and text PostgreSQL cannot
store, are swapped for a marker that fails the field's own validation, so the
error keeps the field's location.

JSON has one number type: ``5.0`` is the integer 5 to JSON Schema (and to the
document's ``"type": "integer"``), so an integer field takes it as 5; ``5.5``
is refused.
"""

from __future__ import annotations

import enum
import types
import typing
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

_STRING_LIKE = (str, date, datetime, time, uuid.UUID, Decimal)


class _WrongJsonType:
    """Fails every validator it meets; never a valid value."""

    def __repr__(self) -> str:
        return "<value of the wrong JSON type>"


_WRONG = _WrongJsonType()


def _kind(annotation: Any) -> str | None:
    """'bool', 'int', 'string', or None when the field takes several JSON types."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kind(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        kinds = {_kind(a) for a in typing.get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    if origin is Literal:
        values = typing.get_args(annotation)
        if all(isinstance(v, str) for v in values):
            return "string"
        return None
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            members = [m.value for m in annotation]
            return "string" if all(isinstance(v, str) for v in members) else None
        if issubclass(annotation, _STRING_LIKE):
            return "string"
    return None


def _wrong_type(kind: str, value: Any) -> bool:
    if value is None:
        return False
    if kind == "bool":
        return not isinstance(value, bool)
    if kind == "int":
        return isinstance(value, bool | str | float)
    # Python objects (a date built in code) are fine; JSON numbers, booleans,
    # arrays and objects are not strings.
    return isinstance(value, bool | int | float | list | dict)


def _unstorable_text(value: Any) -> bool:
    """Lone UTF-16 surrogates and NUL are valid in JSON escapes but not in
    PostgreSQL text (nor in any UTF-8 a partner could read back)."""
    if isinstance(value, str):
        return "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, list):
        return any(_unstorable_text(v) for v in value)
    return False


class RequestModel(BaseModel):
    _json_kinds: ClassVar[dict[str, str]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        kinds: dict[str, str] = {}
        for name, field in cls.model_fields.items():
            kind = _kind(field.annotation)
            if kind is not None:
                kinds[field.alias or name] = kind
        cls._json_kinds = kinds

    @model_validator(mode="before")
    @classmethod
    def _reject_wrong_json_types(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        checked = dict(data)
        for key, value in checked.items():
            kind = cls._json_kinds.get(key)
            if kind == "int" and isinstance(value, float) and value.is_integer():
                checked[key] = int(value)
            elif (kind is not None and _wrong_type(kind, value)) or _unstorable_text(value):
                checked[key] = _WRONG
        return checked


class PatchModel(RequestModel):
    """A ``PATCH`` body: omitted fields stay as they are.

    Only the fields named in ``clearable`` may be sent as ``null`` to empty them.
    Every other field is optional but never null, and its JSON schema says so:
    generated clients and fuzzers believe the schema, so a field declared nullable
    that the API then refuses to empty is a broken promise. Fields are still typed
    ``X | None = None`` in Python (None meaning "not sent").
    """

    clearable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.clearable:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(core_schema)
        target = handler.resolve_ref_schema(json_schema)
        for name, prop in target.get("properties", {}).items():
            if name in cls.clearable:
                continue
            variants = prop.get("anyOf")
            if variants is not None:
                kept = [v for v in variants if v != {"type": "null"}]
                del prop["anyOf"]
                if len(kept) == 1:
                    prop.update(kept[0])
                else:
                    prop["anyOf"] = kept
            if prop.get("default", ...) is None:
                del prop["default"]
        return json_schema


CLIENT_ID_DESCRIPTION = (
    "Optional: the new resource's id, a UUID of your choice (an app working offline "
    "makes one per record it creates). Sending the create again with the same `id` and "
    "the same content returns the first answer again and creates nothing, however much "
    "later; the same `id` with other content, already used for another kind of resource "
    "or by another client is 409 `/problems/id-conflict`. Left out, the server chooses."
)


class ClientChosenId(RequestModel):
    """A create body whose resource the client may name (``otog_shared.client_ids``).

    The id is left out of ``model_dump()``: it is not content, and the services
    spread bodies into rows and event payloads; they read ``body.id`` themselves.
    """

    id: uuid.UUID | None = Field(
        default=None,
        exclude=True,
        description=CLIENT_ID_DESCRIPTION,
        examples=["0193a5c4-7e21-7b8c-9d4e-5f6a7b8c9d0e"],
    )
