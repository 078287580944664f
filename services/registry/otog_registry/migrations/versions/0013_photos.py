"""Photos of products and field visits (objects in S3-compatible storage), and the
optional location of a field visit.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from otog_shared.sync.schema import track_sync, untrack_sync
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "product_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("products.id"), nullable=True
        ),
        sa.Column(
            "visit_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("field_visits.id"),
            nullable=True,
        ),
        sa.Column("content_sha256", sa.Text(), nullable=False),
        sa.Column("upload_bytes", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column("thumb_key", sa.Text(), nullable=False),
        sa.Column("thumb_bytes", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("num_nonnulls(product_id, visit_id) = 1", name="one_owner"),
        sa.CheckConstraint("content_sha256 ~ '^[0-9a-f]{64}$'", name="content_sha256_hex"),
        sa.CheckConstraint(
            "media_type IN ('image/jpeg', 'image/png', 'image/webp')", name="media_type"
        ),
    )
    op.create_index(
        "ix_photos_product_id",
        "photos",
        ["product_id", "id"],
        postgresql_where=sa.text("product_id IS NOT NULL"),
    )
    op.create_index(
        "ix_photos_visit_id",
        "photos",
        ["visit_id", "id"],
        postgresql_where=sa.text("visit_id IS NOT NULL"),
    )
    op.add_column("field_visits", sa.Column("location_lat", sa.Double(), nullable=True))
    op.add_column("field_visits", sa.Column("location_lon", sa.Double(), nullable=True))
    op.create_check_constraint(
        "location",
        "field_visits",
        "(location_lat IS NULL) = (location_lon IS NULL)"
        " AND location_lat BETWEEN -90 AND 90 AND location_lon BETWEEN -180 AND 180",
    )

    # A photo added or deleted is a change of its product or visit for delta sync.
    track_sync(
        op,
        table="photos",
        collection="products",
        rows=(
            "SELECT o.id, g.province_code, false FROM products o "
            "JOIN groups g ON g.id = o.group_id WHERE o.id = {row}.product_id"
        ),
        part_of=True,
    )
    track_sync(
        op,
        table="photos",
        collection="visits",
        rows=(
            "SELECT o.id, g.province_code, false FROM field_visits o "
            "JOIN groups g ON g.id = o.group_id WHERE o.id = {row}.visit_id"
        ),
        part_of=True,
    )


def downgrade() -> None:
    untrack_sync(op, table="photos", collection="visits")
    untrack_sync(op, table="photos", collection="products")
    op.drop_constraint("location", "field_visits", type_="check")
    op.drop_column("field_visits", "location_lon")
    op.drop_column("field_visits", "location_lat")
    op.drop_index("ix_photos_visit_id", table_name="photos")
    op.drop_index("ix_photos_product_id", table_name="photos")
    op.drop_table("photos")
