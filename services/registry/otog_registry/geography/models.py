"""Provinces, districts and subdistricts, keyed by their official DOPA codes.

Loaded once by migration ``0002_geography`` (schema ``geo``) from the ``geothai``
package; the application only reads them. District and subdistrict rows carry the codes of
their parents so that workers and groups can reference a consistent triple
(subdistrict, district, province) with one composite foreign key.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from otog_registry.models import Base

# Reference data lives in its own schema: it is loaded by a migration, only read
# by the application, and stays put when the application's tables are emptied.
SCHEMA = "geo"

REGIONS = ("north", "central", "northeast", "west", "east", "south")


class Province(Base):
    __tablename__ = "provinces"
    __table_args__ = (CheckConstraint("code ~ '^[0-9]{2}$'", name="code"), {"schema": SCHEMA})

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name_th: Mapped[str] = mapped_column(Text, nullable=False)
    name_en: Mapped[str] = mapped_column(Text, nullable=False)
    region: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The mean of the province's subdistricts' coordinates (migration 0014): a point
    # to lay the province out on a map, not its boundary.
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)


class District(Base):
    __tablename__ = "districts"
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{4}$' AND left(code, 2) = province_code", name="code"),
        UniqueConstraint("code", "province_code", name="uq_districts_code_province"),
        Index("ix_districts_province_code", "province_code"),
        {"schema": SCHEMA},
    )

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    province_code: Mapped[str] = mapped_column(
        String(2), ForeignKey(f"{SCHEMA}.provinces.code"), nullable=False
    )
    name_th: Mapped[str] = mapped_column(Text, nullable=False)
    name_en: Mapped[str] = mapped_column(Text, nullable=False)


class Subdistrict(Base):
    __tablename__ = "subdistricts"
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{6}$' AND left(code, 4) = district_code", name="code"),
        ForeignKeyConstraint(
            ["district_code", "province_code"],
            [f"{SCHEMA}.districts.code", f"{SCHEMA}.districts.province_code"],
            name="fk_subdistricts_district",
        ),
        UniqueConstraint(
            "code", "district_code", "province_code", name="uq_subdistricts_code_district_province"
        ),
        Index("ix_subdistricts_district_code", "district_code"),
        Index("ix_subdistricts_province_code", "province_code"),
        {"schema": SCHEMA},
    )

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    district_code: Mapped[str] = mapped_column(String(4), nullable=False)
    province_code: Mapped[str] = mapped_column(String(2), nullable=False)
    name_th: Mapped[str] = mapped_column(Text, nullable=False)
    name_en: Mapped[str] = mapped_column(Text, nullable=False)
    postal_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
