"""Sessions hold the place their mode needs; session events say what changed.

A session that is `onsite` has a venue and one that is `online` has a link: the
API promises it in its schema, so the database holds every writer to it. Events
telling people that their session moved carry the changed fields.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_check_constraint(
        op.f("ck_training_sessions_place"),
        "training_sessions",
        "(mode <> 'onsite' OR (venue IS NOT NULL AND btrim(venue) <> ''))"
        " AND (mode <> 'online' OR online_url IS NOT NULL)",
    )
    op.add_column(
        "enrollment_events",
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("enrollment_events", "changes")
    op.drop_constraint(op.f("ck_training_sessions_place"), "training_sessions", type_="check")
