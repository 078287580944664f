from __future__ import annotations

import uuid
from datetime import date

from otog_shared.db import TimestampMixin
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from otog_registry.ids import new_id
from otog_registry.models import Base

PARTNER_VALUES = "'interior', 'commerce', 'tourism', 'labour', 'overseas'"


class MarketLink(TimestampMixin, Base):
    """A market opportunity a partner ministry gave a group, with the sales it made."""

    __tablename__ = "market_links"
    __table_args__ = (
        CheckConstraint(f"partner IN ({PARTNER_VALUES})", name="partner"),
        CheckConstraint("sales_satang IS NULL OR sales_satang >= 0", name="sales_satang"),
        # A retried POST with the same Idempotency-Key finds the first one.
        UniqueConstraint("recorded_by", "idempotency_key", name="uq_market_links_idempotency"),
        Index("ix_market_links_group_id_id", "group_id", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    group_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("groups.id"), nullable=False
    )
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("products.id"), nullable=True
    )
    partner: Mapped[str] = mapped_column(String(16), nullable=False)
    channel: Mapped[str] = mapped_column(Text, nullable=False)
    event: Mapped[str | None] = mapped_column(Text, nullable=True)
    occurred_on: Mapped[date] = mapped_column(Date, nullable=False)
    sales_satang: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
