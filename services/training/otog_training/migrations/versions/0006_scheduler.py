"""The scheduler's tables.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op
from otog_shared.scheduler import create_scheduler_tables, drop_scheduler_tables

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_scheduler_tables(op)


def downgrade() -> None:
    drop_scheduler_tables(op)
