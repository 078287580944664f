from __future__ import annotations

import uuid

from otog_shared.db import TimestampMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from otog_registry.models import Base


class Photo(TimestampMixin, Base):
    """A photo of a product (public, in the catalogue) or of a field visit (evidence,
    read like the visit). The id is the client's: an app that lost the answer sends
    the same photo again under the same id. The objects hold the re-encoded image
    and its thumbnail; the row is what makes them exist for the API."""

    __tablename__ = "photos"
    __table_args__ = (
        # Exactly one owner; two foreign keys rather than a kind and a loose id, so
        # that a photo can never point at a product or visit that does not exist.
        CheckConstraint("num_nonnulls(product_id, visit_id) = 1", name="one_owner"),
        CheckConstraint("content_sha256 ~ '^[0-9a-f]{64}$'", name="content_sha256_hex"),
        CheckConstraint(
            "media_type IN ('image/jpeg', 'image/png', 'image/webp')", name="media_type"
        ),
        Index(
            "ix_photos_product_id", "product_id", "id", postgresql_where="product_id IS NOT NULL"
        ),
        Index("ix_photos_visit_id", "visit_id", "id", postgresql_where="visit_id IS NOT NULL"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("products.id"), nullable=True
    )
    visit_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("field_visits.id"), nullable=True
    )
    # Of the bytes as uploaded: the same bytes sent again under this id change nothing.
    content_sha256: Mapped[str] = mapped_column(Text, nullable=False)
    upload_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    # What is served (the re-encoded image).
    media_type: Mapped[str] = mapped_column(Text, nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    object_key: Mapped[str] = mapped_column(Text, nullable=False)
    thumb_key: Mapped[str] = mapped_column(Text, nullable=False)
    thumb_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    created_by: Mapped[str | None] = mapped_column(Text, nullable=True)

    @property
    def owner_kind(self) -> str:
        return "product" if self.product_id is not None else "visit"
