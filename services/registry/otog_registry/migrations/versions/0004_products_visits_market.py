"""Products, certifications, field visits, market links.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("group_id", sa.UUID(), nullable=False),
        sa.Column("name_th", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price_satang", sa.BigInteger(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("is_premium", sa.Boolean(), nullable=False),
        sa.Column("packaging_notes", sa.Text(), nullable=True),
        sa.Column("is_available", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "price_satang IS NULL OR price_satang >= 0", name=op.f("ck_products_price_satang")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_products_group_id_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    op.create_index("ix_products_group_id_id", "products", ["group_id", "id"])

    op.create_table(
        "certifications",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("standard", sa.String(16), nullable=False),
        sa.Column("standard_name", sa.Text(), nullable=True),
        sa.Column("number", sa.String(100), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        _created_at(),
        sa.CheckConstraint(
            "standard IN ('fda', 'tcps', 'halal', 'gap', 'gmp', 'organic', 'other')",
            name=op.f("ck_certifications_standard"),
        ),
        sa.CheckConstraint(
            "expires_on IS NULL OR expires_on >= issued_on", name=op.f("ck_certifications_dates")
        ),
        sa.CheckConstraint(
            "standard <> 'other' OR standard_name IS NOT NULL",
            name=op.f("ck_certifications_other_named"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_certifications_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certifications")),
        sa.UniqueConstraint("product_id", "standard", "number", name="uq_certifications_number"),
    )
    op.create_index("ix_certifications_product_id", "certifications", ["product_id"])

    op.create_table(
        "field_visits",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("group_id", sa.UUID(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("officer", sa.Text(), nullable=True),
        sa.Column("progress", sa.Text(), nullable=False),
        sa.Column("progress_percent", sa.SmallInteger(), nullable=True),
        sa.Column("problems", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("follow_up_actions", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("next_visit_on", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.String(200), nullable=True),
        _created_at(),
        sa.CheckConstraint(
            "progress_percent IS NULL OR progress_percent BETWEEN 0 AND 100",
            name=op.f("ck_field_visits_progress_percent"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_field_visits_group_id_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_visits")),
    )
    op.create_index("ix_field_visits_group_id_id", "field_visits", ["group_id", "id"])

    op.create_table(
        "market_links",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("group_id", sa.UUID(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=True),
        sa.Column("partner", sa.String(16), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("event", sa.Text(), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("sales_satang", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(200), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        _created_at(),
        sa.CheckConstraint(
            "partner IN ('interior', 'commerce', 'tourism', 'labour', 'overseas')",
            name=op.f("ck_market_links_partner"),
        ),
        sa.CheckConstraint(
            "sales_satang IS NULL OR sales_satang >= 0", name=op.f("ck_market_links_sales_satang")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_market_links_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_market_links_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_links")),
        sa.UniqueConstraint("recorded_by", "idempotency_key", name="uq_market_links_idempotency"),
    )
    op.create_index("ix_market_links_group_id_id", "market_links", ["group_id", "id"])


def downgrade() -> None:
    op.drop_table("market_links")
    op.drop_table("field_visits")
    op.drop_table("certifications")
    op.drop_table("products")
