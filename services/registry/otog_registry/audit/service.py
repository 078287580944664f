"""The audit trail, written in the same transaction as the change it describes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Any

from otog_shared.context import client_id_var, person_var, request_id_var
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.audit.models import AuditEvent

# Fields whose values never go into the trail (only the fact that they changed).
REDACTED_FIELDS = frozenset({"national_id", "national_id_encrypted", "national_id_hmac"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return None
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def clean(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: ("[redacted]" if key in REDACTED_FIELDS else _jsonable(value))
        for key, value in values.items()
    }


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{field: {"from": old, "to": new}}`` for the fields that differ."""
    changed: dict[str, Any] = {}
    for key, new in after.items():
        old = before.get(key)
        if old != new:
            changed[key] = (
                {"from": "[redacted]", "to": "[redacted]"}
                if key in REDACTED_FIELDS
                else {"from": _jsonable(old), "to": _jsonable(new)}
            )
    return changed


class AuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        action: str,
        entity_type: str,
        entity_id: uuid.UUID | None,
        changes: dict[str, Any],
        *,
        province_code: str | None = None,
        actor: str | None = None,
        actor_person: str | None = None,
    ) -> None:
        """``actor`` and ``actor_person`` default to the request's authenticated caller;
        the sign-in page, which has no bearer token, names the app and the user itself."""
        self.session.add(
            AuditEvent(
                actor=actor or client_id_var.get(),
                actor_person=actor_person or person_var.get(),
                request_id=request_id_var.get(),
                action=action,
                entity_type=entity_type,
                entity_id=entity_id,
                province_code=province_code,
                changes=_jsonable(changes),
            )
        )
        await self.session.flush()
