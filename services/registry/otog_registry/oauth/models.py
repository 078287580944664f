from __future__ import annotations

import uuid
from datetime import datetime

from otog_shared.db import TimestampMixin
from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from otog_registry.models import Base


class ApiClient(TimestampMixin, Base):
    """An integrator (partner ministry, office, app) allowed to ask for tokens."""

    __tablename__ = "api_clients"
    __table_args__ = (
        CheckConstraint(
            "province_code IS NULL OR province_code ~ '^[0-9]{2}$'", name="province_code"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    # SHA-256 of a 256-bit random secret: a slow KDF adds nothing against
    # guessing a secret of that entropy and would slow every token request.
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
