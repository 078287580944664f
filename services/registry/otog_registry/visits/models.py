from __future__ import annotations

import uuid
from datetime import date

from otog_shared.db import TimestampMixin
from sqlalchemy import CheckConstraint, Date, Double, ForeignKey, Index, SmallInteger, Text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from otog_registry.ids import new_id
from otog_registry.models import Base


class FieldVisit(TimestampMixin, Base):
    """A visit by the programme's working group (คณะทำงาน) to collect progress and problems."""

    __tablename__ = "field_visits"
    __table_args__ = (
        CheckConstraint(
            "progress_percent IS NULL OR progress_percent BETWEEN 0 AND 100",
            name="progress_percent",
        ),
        Index("ix_field_visits_group_id_id", "group_id", "id"),
        CheckConstraint(
            "(location_lat IS NULL) = (location_lon IS NULL)"
            " AND location_lat BETWEEN -90 AND 90 AND location_lon BETWEEN -180 AND 180",
            name="location",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    group_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("groups.id"), nullable=False
    )
    visited_on: Mapped[date] = mapped_column(Date, nullable=False)
    officer: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress: Mapped[str] = mapped_column(Text, nullable=False)
    progress_percent: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    problems: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    follow_up_actions: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    next_visit_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    recorded_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Where the app says the visit took place (WGS 84), sent apart from any photo:
    # photos lose their EXIF GPS, and this is read only like the visit.
    location_lat: Mapped[float | None] = mapped_column(Double, nullable=True)
    location_lon: Mapped[float | None] = mapped_column(Double, nullable=True)
