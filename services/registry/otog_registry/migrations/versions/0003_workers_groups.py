"""Workers, groups, stage changes, prototype selections, members, audit events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGES = (
    "'registered', 'prototype', 'training', 'product_development', 'funding', "
    "'marketing', 'suspended', 'dissolved'"
)
OCCUPATIONS = (
    "'food_processing', 'textiles_weaving', 'sewing', 'handicraft', 'agriculture', "
    "'beekeeping', 'livestock_fishery', 'herbal_spa', 'flowers_wreaths', "
    "'community_tourism', 'services', 'other'"
)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("national_id_hmac", sa.LargeBinary(), nullable=False),
        sa.Column("national_id_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("first_name_th", sa.Text(), nullable=False),
        sa.Column("last_name_th", sa.Text(), nullable=False),
        sa.Column("first_name_en", sa.Text(), nullable=True),
        sa.Column("last_name_en", sa.Text(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("subdistrict_code", sa.String(6), nullable=False),
        sa.Column("district_code", sa.String(4), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("social_security", sa.String(16), nullable=False),
        sa.Column("pdpa_basis", sa.String(24), nullable=False),
        sa.Column("consent_given_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("created_request_id", sa.String(128), nullable=True),
        sa.CheckConstraint(
            "social_security IN ('none', 'section_33', 'section_39', 'section_40', 'unknown')",
            name=op.f("ck_workers_social_security"),
        ),
        sa.CheckConstraint(
            "pdpa_basis IN ('consent', 'contract', 'legal_obligation', 'vital_interest', "
            "'public_task', 'legitimate_interest')",
            name=op.f("ck_workers_pdpa_basis"),
        ),
        sa.CheckConstraint(
            "pdpa_basis <> 'consent' OR consent_given_at IS NOT NULL",
            name=op.f("ck_workers_consent_recorded"),
        ),
        sa.CheckConstraint(
            "octet_length(national_id_hmac) = 32", name=op.f("ck_workers_national_id_hmac")
        ),
        sa.ForeignKeyConstraint(
            ["subdistrict_code", "district_code", "province_code"],
            [
                "geo.subdistricts.code",
                "geo.subdistricts.district_code",
                "geo.subdistricts.province_code",
            ],
            name="fk_workers_subdistrict",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
        sa.UniqueConstraint("national_id_hmac", name=op.f("uq_workers_national_id_hmac")),
    )
    op.create_index("ix_workers_province_code_id", "workers", ["province_code", "id"])
    op.create_index("ix_workers_district_code_id", "workers", ["district_code", "id"])
    op.create_index("ix_workers_subdistrict_code_id", "workers", ["subdistrict_code", "id"])

    op.create_table(
        "groups",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name_th", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=True),
        sa.Column("occupation", sa.String(32), nullable=False),
        sa.Column("subdistrict_code", sa.String(6), nullable=False),
        sa.Column("district_code", sa.String(4), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.String(32), nullable=True),
        sa.Column("contact_email", sa.String(320), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        *_timestamps(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.CheckConstraint(f"status IN ({STAGES})", name=op.f("ck_groups_status")),
        sa.CheckConstraint(f"occupation IN ({OCCUPATIONS})", name=op.f("ck_groups_occupation")),
        sa.ForeignKeyConstraint(
            ["subdistrict_code", "district_code", "province_code"],
            [
                "geo.subdistricts.code",
                "geo.subdistricts.district_code",
                "geo.subdistricts.province_code",
            ],
            name="fk_groups_subdistrict",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
    )
    op.create_index("ix_groups_province_code_id", "groups", ["province_code", "id"])
    op.create_index("ix_groups_district_code_id", "groups", ["district_code", "id"])
    op.create_index("ix_groups_subdistrict_code_id", "groups", ["subdistrict_code", "id"])
    op.create_index("ix_groups_status_id", "groups", ["status", "id"])
    op.create_index("ix_groups_occupation_id", "groups", ["occupation", "id"])

    op.create_table(
        "stage_changes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("group_id", sa.UUID(), nullable=False),
        sa.Column("from_stage", sa.String(32), nullable=True),
        sa.Column("to_stage", sa.String(32), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column(
            "changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(f"to_stage IN ({STAGES})", name=op.f("ck_stage_changes_to_stage")),
        sa.CheckConstraint(
            "fiscal_year BETWEEN 2500 AND 2800", name=op.f("ck_stage_changes_fiscal_year")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_stage_changes_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_changes")),
    )
    op.create_index("ix_stage_changes_group_id_id", "stage_changes", ["group_id", "id"])
    op.create_index(
        "ix_stage_changes_fiscal_year_to_stage", "stage_changes", ["fiscal_year", "to_stage"]
    )

    op.create_table(
        "prototype_selections",
        sa.Column("subdistrict_code", sa.String(6), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.UUID(), nullable=False),
        sa.Column("stage_change_id", sa.UUID(), nullable=False),
        sa.Column(
            "selected_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["subdistrict_code"],
            ["geo.subdistricts.code"],
            name=op.f("fk_prototype_selections_subdistrict_code_subdistricts"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_prototype_selections_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stage_change_id"],
            ["stage_changes.id"],
            name=op.f("fk_prototype_selections_stage_change_id_stage_changes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "subdistrict_code", "fiscal_year", name=op.f("pk_prototype_selections")
        ),
        sa.UniqueConstraint("group_id", "fiscal_year", name="uq_prototype_selections_group_year"),
    )

    op.create_table(
        "group_members",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("group_id", sa.UUID(), nullable=False),
        sa.Column("worker_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column(
            "joined_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("added_by", sa.String(200), nullable=True),
        sa.Column("removed_by", sa.String(200), nullable=True),
        sa.CheckConstraint("role IN ('leader', 'member')", name=op.f("ck_group_members_role")),
        sa.CheckConstraint(
            "left_at IS NULL OR left_at >= joined_at",
            name=op.f("ck_group_members_left_after_joined"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_members_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_group_members_worker_id_workers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_members")),
    )
    op.create_index(
        "uq_group_members_current",
        "group_members",
        ["group_id", "worker_id"],
        unique=True,
        postgresql_where=sa.text("left_at IS NULL"),
    )
    op.create_index(
        "uq_group_members_one_leader",
        "group_members",
        ["group_id"],
        unique=True,
        postgresql_where=sa.text("left_at IS NULL AND role = 'leader'"),
    )
    op.create_index("ix_group_members_group_id_id", "group_members", ["group_id", "id"])
    op.create_index("ix_group_members_worker_id", "group_members", ["worker_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=True),
        sa.Column("province_code", sa.String(2), nullable=True),
        sa.Column("changes", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_entity", "audit_events", ["entity_type", "entity_id"])
    op.create_index(op.f("ix_audit_events_actor"), "audit_events", ["actor"])
    op.create_index(op.f("ix_audit_events_request_id"), "audit_events", ["request_id"])


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("group_members")
    op.drop_table("prototype_selections")
    op.drop_table("stage_changes")
    op.drop_table("groups")
    op.drop_table("workers")
