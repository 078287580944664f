"""The partner feed merged from every service's outbox (see migration 0006)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from otog_registry.models import Base

event_log = Table(
    "event_log",
    Base.metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    # Handed out at commit, in commit order (otog_shared.outbox).
    Column("position", BigInteger, nullable=True, unique=True),
    Column("source", String(64), nullable=False),
    Column("source_position", BigInteger, nullable=False),
    Column("type", String(64), nullable=False),
    Column("subject", Text, nullable=False),
    Column("province_code", String(2), nullable=True),
    Column("data", JSONB, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("source", "source_position", name="uq_event_log_source_position"),
    Index("ix_event_log_recorded_at", "recorded_at"),
)

event_sources = Table(
    "event_sources",
    Base.metadata,
    Column("source", String(64), primary_key=True),
    Column("last_position", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
