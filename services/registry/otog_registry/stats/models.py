from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from otog_registry.models import Base


class ProgrammeTarget(Base):
    """What the programme set out to do in a fiscal year (reference data: migrations
    seed the announced years)."""

    __tablename__ = "programme_targets"
    __table_args__ = (
        CheckConstraint("fiscal_year BETWEEN 2500 AND 2800", name="fiscal_year"),
        CheckConstraint(
            "prototype_groups >= 0 AND full_cycle_groups >= 0 AND finish_by_groups >= 0",
            name="counts",
        ),
    )

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    prototype_groups: Mapped[int] = mapped_column(Integer, nullable=False)
    full_cycle_groups: Mapped[int] = mapped_column(Integer, nullable=False)
    finish_by: Mapped[date] = mapped_column(Date, nullable=False)
    finish_by_groups: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
