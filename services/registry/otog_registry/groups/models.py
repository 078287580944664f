from __future__ import annotations

import uuid
from datetime import datetime

from otog_shared.db import TimestampMixin
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from otog_registry.ids import new_id
from otog_registry.models import Base

STAGE_VALUES = (
    "'registered', 'prototype', 'training', 'product_development', 'funding', "
    "'marketing', 'suspended', 'dissolved'"
)
OCCUPATION_VALUES = (
    "'food_processing', 'textiles_weaving', 'sewing', 'handicraft', 'agriculture', "
    "'beekeeping', 'livestock_fishery', 'herbal_spa', 'flowers_wreaths', "
    "'community_tourism', 'services', 'other'"
)


class Group(TimestampMixin, Base):
    """An occupation group (กลุ่มอาชีพ) of one subdistrict."""

    __tablename__ = "groups"
    __table_args__ = (
        ForeignKeyConstraint(
            ["subdistrict_code", "district_code", "province_code"],
            [
                "geo.subdistricts.code",
                "geo.subdistricts.district_code",
                "geo.subdistricts.province_code",
            ],
            name="fk_groups_subdistrict",
        ),
        CheckConstraint(f"status IN ({STAGE_VALUES})", name="status"),
        CheckConstraint(f"occupation IN ({OCCUPATION_VALUES})", name="occupation"),
        Index("ix_groups_province_code_id", "province_code", "id"),
        Index("ix_groups_district_code_id", "district_code", "id"),
        Index("ix_groups_subdistrict_code_id", "subdistrict_code", "id"),
        Index("ix_groups_status_id", "status", "id"),
        Index("ix_groups_occupation_id", "occupation", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    name_th: Mapped[str] = mapped_column(Text, nullable=False)
    name_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    occupation: Mapped[str] = mapped_column(String(32), nullable=False)
    subdistrict_code: Mapped[str] = mapped_column(String(6), nullable=False)
    district_code: Mapped[str] = mapped_column(String(4), nullable=False)
    province_code: Mapped[str] = mapped_column(String(2), nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="registered")
    contact_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by: Mapped[str | None] = mapped_column(Text, nullable=True)


class StageChange(Base):
    """One step of a group's journey: who moved it, when, under which fiscal year."""

    __tablename__ = "stage_changes"
    __table_args__ = (
        CheckConstraint(f"to_stage IN ({STAGE_VALUES})", name="to_stage"),
        CheckConstraint("fiscal_year BETWEEN 2500 AND 2800", name="fiscal_year"),
        Index("ix_stage_changes_group_id_id", "group_id", "id"),
        Index("ix_stage_changes_fiscal_year_to_stage", "fiscal_year", "to_stage"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    group_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
    )
    from_stage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_stage: Mapped[str] = mapped_column(String(32), nullable=False)
    fiscal_year: Mapped[int] = mapped_column(Integer, nullable=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str | None] = mapped_column(Text, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class PrototypeSelection(Base):
    """The one prototype group of a subdistrict in a fiscal year.

    The primary key is the rule: a second group for the same subdistrict and
    year fails on insert, however many requests race.
    """

    __tablename__ = "prototype_selections"
    __table_args__ = (
        UniqueConstraint("group_id", "fiscal_year", name="uq_prototype_selections_group_year"),
    )

    subdistrict_code: Mapped[str] = mapped_column(
        String(6), ForeignKey("geo.subdistricts.code"), primary_key=True
    )
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
    )
    stage_change_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("stage_changes.id", ondelete="CASCADE"), nullable=False
    )
    selected_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class Membership(Base):
    """A worker's membership of a group. Removal sets ``left_at``; rows are kept."""

    __tablename__ = "group_members"
    __table_args__ = (
        CheckConstraint("role IN ('leader', 'member')", name="role"),
        CheckConstraint("left_at IS NULL OR left_at >= joined_at", name="left_after_joined"),
        # One current membership per worker and group, and one current leader per group.
        Index(
            "uq_group_members_current",
            "group_id",
            "worker_id",
            unique=True,
            postgresql_where=text("left_at IS NULL"),
        ),
        Index(
            "uq_group_members_one_leader",
            "group_id",
            unique=True,
            postgresql_where=text("left_at IS NULL AND role = 'leader'"),
        ),
        Index("ix_group_members_group_id_id", "group_id", "id"),
        Index("ix_group_members_worker_id", "worker_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    group_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
    )
    worker_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("workers.id"), nullable=False
    )
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    joined_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    added_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    removed_by: Mapped[str | None] = mapped_column(Text, nullable=True)
