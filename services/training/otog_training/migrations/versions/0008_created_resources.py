"""Client-chosen ids: every create of the training remembers the id an app chose.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op
from otog_shared.client_ids.models import (
    create_created_resources_table,
    drop_created_resources_table,
)

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The same table in every service (otog_shared.client_ids.models).
    create_created_resources_table(op)


def downgrade() -> None:
    drop_created_resources_table(op)
