"""Geography: provinces, districts and subdistricts with DOPA codes, loaded from geothai.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from otog_registry.geography.loader import geography_rows
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reference data in its own schema, apart from the application's tables.
    op.execute("CREATE SCHEMA IF NOT EXISTS geo")
    provinces = op.create_table(
        "provinces",
        sa.Column("code", sa.String(2), nullable=False),
        sa.Column("name_th", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=True),
        sa.CheckConstraint("code ~ '^[0-9]{2}$'", name=op.f("ck_provinces_code")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_provinces")),
        schema="geo",
    )
    districts = op.create_table(
        "districts",
        sa.Column("code", sa.String(4), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("name_th", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "code ~ '^[0-9]{4}$' AND left(code, 2) = province_code", name=op.f("ck_districts_code")
        ),
        sa.ForeignKeyConstraint(
            ["province_code"],
            ["geo.provinces.code"],
            name=op.f("fk_districts_province_code_provinces"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_districts")),
        sa.UniqueConstraint("code", "province_code", name="uq_districts_code_province"),
        schema="geo",
    )
    op.create_index(
        op.f("ix_districts_province_code"), "districts", ["province_code"], schema="geo"
    )
    subdistricts = op.create_table(
        "subdistricts",
        sa.Column("code", sa.String(6), nullable=False),
        sa.Column("district_code", sa.String(4), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("name_th", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("postal_codes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "code ~ '^[0-9]{6}$' AND left(code, 4) = district_code",
            name=op.f("ck_subdistricts_code"),
        ),
        sa.ForeignKeyConstraint(
            ["district_code", "province_code"],
            ["geo.districts.code", "geo.districts.province_code"],
            name="fk_subdistricts_district",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_subdistricts")),
        sa.UniqueConstraint(
            "code", "district_code", "province_code", name="uq_subdistricts_code_district_province"
        ),
        schema="geo",
    )
    op.create_index(
        op.f("ix_subdistricts_district_code"), "subdistricts", ["district_code"], schema="geo"
    )
    op.create_index(
        op.f("ix_subdistricts_province_code"), "subdistricts", ["province_code"], schema="geo"
    )

    province_rows, district_rows, subdistrict_rows = geography_rows()
    op.bulk_insert(provinces, province_rows)
    op.bulk_insert(districts, district_rows)
    op.bulk_insert(subdistricts, subdistrict_rows)


def downgrade() -> None:
    op.drop_table("subdistricts", schema="geo")
    op.drop_table("districts", schema="geo")
    op.drop_table("provinces", schema="geo")
    op.execute("DROP SCHEMA IF EXISTS geo")
