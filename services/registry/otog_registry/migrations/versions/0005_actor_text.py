"""Client ids of actors as text: ids from trusted external issuers may be long.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("audit_events", "actor"),
    ("workers", "created_by"),
    ("groups", "created_by"),
    ("stage_changes", "actor"),
    ("group_members", "added_by"),
    ("group_members", "removed_by"),
    ("field_visits", "recorded_by"),
    ("market_links", "recorded_by"),
)


def upgrade() -> None:
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(200))


def downgrade() -> None:
    for table, column in COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.String(200),
            existing_type=sa.Text(),
            postgresql_using=f"left({column}, 200)",
        )
