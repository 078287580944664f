from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from otog_registry.models import Base


class AuditEvent(Base):
    """One write: who (client id, and the person signed in through it), under which
    request, when, and what changed.

    ``changes`` never holds a national ID: the service layer passes field names
    and values it has already stripped of personal identifiers.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    actor: Mapped[str | None] = mapped_column(Text, nullable=True, index=True)
    # "user:<id>" when a person signed in through an app (then ``actor`` is the app).
    actor_person: Mapped[str | None] = mapped_column(Text, nullable=True, index=True)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
