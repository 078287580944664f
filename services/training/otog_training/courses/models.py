from __future__ import annotations

import uuid

from otog_shared.db import TimestampMixin
from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from otog_training.models import Base

MODES = ("onsite", "online")


class Course(TimestampMixin, Base):
    """A course in the national catalogue; sessions of it run per training area."""

    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("hours > 0", name="hours_positive"),
        CheckConstraint(
            "cardinality(modes) > 0 AND modes <@ ARRAY['onsite', 'online']::text[]",
            name="modes",
        ),
        CheckConstraint("code ~ '^[A-Z0-9][A-Z0-9-]{0,31}$'", name="code_format"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    title_th: Mapped[str] = mapped_column(Text, nullable=False)
    title_en: Mapped[str] = mapped_column(Text, nullable=False)
    provider: Mapped[str] = mapped_column(Text, nullable=False)
    hours: Mapped[int] = mapped_column(Integer, nullable=False)
    modes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
