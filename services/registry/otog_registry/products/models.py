from __future__ import annotations

import uuid
from datetime import date, datetime

from otog_shared.db import TimestampMixin
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from otog_registry.ids import new_id
from otog_registry.models import Base

STANDARD_VALUES = "'fda', 'tcps', 'halal', 'gap', 'gmp', 'organic', 'other'"


class Product(TimestampMixin, Base):
    """A product of a group, shown in the public catalogue while the group is active."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_satang IS NULL OR price_satang >= 0", name="price_satang"),
        Index("ix_products_group_id_id", "group_id", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    group_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("groups.id"), nullable=False
    )
    name_th: Mapped[str] = mapped_column(Text, nullable=False)
    name_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    price_satang: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    unit: Mapped[str | None] = mapped_column(Text, nullable=True)
    is_premium: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    packaging_notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    is_available: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class Certification(TimestampMixin, Base):
    """A product standard: Thai FDA (อย.), Thai Community Product Standard (มผช.), others."""

    __tablename__ = "certifications"
    __table_args__ = (
        CheckConstraint(f"standard IN ({STANDARD_VALUES})", name="standard"),
        CheckConstraint("expires_on IS NULL OR expires_on >= issued_on", name="dates"),
        CheckConstraint("standard <> 'other' OR standard_name IS NOT NULL", name="other_named"),
        UniqueConstraint("product_id", "standard", "number", name="uq_certifications_number"),
        Index("ix_certifications_product_id", "product_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    product_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("products.id"), nullable=False
    )
    standard: Mapped[str] = mapped_column(String(16), nullable=False)
    standard_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    number: Mapped[str] = mapped_column(String(100), nullable=False)
    issued_on: Mapped[date] = mapped_column(Date, nullable=False)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
