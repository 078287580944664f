"""The programme's targets per fiscal year, and a map position for each province.

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    targets = op.create_table(
        "programme_targets",
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("prototype_groups", sa.Integer(), nullable=False),
        sa.Column("full_cycle_groups", sa.Integer(), nullable=False),
        sa.Column("finish_by", sa.Date(), nullable=False),
        sa.Column("finish_by_groups", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "fiscal_year BETWEEN 2500 AND 2800", name=op.f("ck_programme_targets_fiscal_year")
        ),
        sa.CheckConstraint(
            "prototype_groups >= 0 AND full_cycle_groups >= 0 AND finish_by_groups >= 0",
            name=op.f("ck_programme_targets_counts"),
        ),
        sa.PrimaryKeyConstraint("fiscal_year", name=op.f("pk_programme_targets")),
    )
    # The Ministry's announcement of FY2568 (1 Oct 2024 – 30 Sep 2025): 401 prototypes,
    # 77 of them through the full-cycle training, the other 324 finishing by 31 March 2025.
    op.bulk_insert(
        targets,
        [
            {
                "fiscal_year": 2568,
                "prototype_groups": 401,
                "full_cycle_groups": 77,
                "finish_by": date(2025, 3, 31),
                "finish_by_groups": 324,
                "source": "Ministry of Labour announcement of the programme, FY2568",
            }
        ],
    )

    # A tile map needs one point per province: the mean of its subdistricts'
    # coordinates, computed once here since the reference data only changes by migration.
    op.add_column("provinces", sa.Column("latitude", sa.Float(), nullable=True), schema="geo")
    op.add_column("provinces", sa.Column("longitude", sa.Float(), nullable=True), schema="geo")
    op.execute(
        """
        UPDATE geo.provinces p
        SET latitude = round(c.latitude::numeric, 4)::float8,
            longitude = round(c.longitude::numeric, 4)::float8
        FROM (
            SELECT province_code, avg(latitude) AS latitude, avg(longitude) AS longitude
            FROM geo.subdistricts
            WHERE latitude IS NOT NULL AND longitude IS NOT NULL
            GROUP BY province_code
        ) c
        WHERE c.province_code = p.code
        """
    )
    # The coordinates data set has none for Bangkok's khwaeng: the city's commonly
    # given centre stands in, so that every province has a place on the map.
    op.execute(
        "UPDATE geo.provinces SET latitude = 13.7563, longitude = 100.5018 "
        "WHERE code = '10' AND latitude IS NULL"
    )


def downgrade() -> None:
    op.drop_column("provinces", "longitude", schema="geo")
    op.drop_column("provinces", "latitude", schema="geo")
    op.drop_table("programme_targets")
