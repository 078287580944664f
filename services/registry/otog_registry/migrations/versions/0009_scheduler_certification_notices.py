"""The scheduler's tables and the certification expiry notices sent.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from otog_shared.scheduler import create_scheduler_tables, drop_scheduler_tables
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_scheduler_tables(op)
    op.create_table(
        "certification_expiry_notices",
        sa.Column("certification_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column(
            "noticed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["certification_id"],
            ["certifications.id"],
            name=op.f("fk_certification_expiry_notices_certification_id_certifications"),
        ),
        sa.PrimaryKeyConstraint(
            "certification_id", "expires_on", name=op.f("pk_certification_expiry_notices")
        ),
    )


def downgrade() -> None:
    op.drop_table("certification_expiry_notices")
    drop_scheduler_tables(op)
