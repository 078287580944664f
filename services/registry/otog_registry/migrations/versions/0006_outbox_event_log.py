"""The registry's outbox, and the one partner feed merged from every service's outbox.

``event_log`` holds each event once (its id is the event's id; ``source`` and
``source_position`` say where it came from, so collecting again adds nothing) under a
position of its own handed out at commit, in commit order, like the outboxes'.
``event_sources`` keeps, per source, the last outbox position collected, updated in
the same transaction as the rows collected.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from otog_shared.outbox import create_commit_ordered_position, create_outbox, drop_outbox
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox(op)
    op.create_table(
        "event_log",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=True, unique=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("source_position", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("source", "source_position", name="uq_event_log_source_position"),
    )
    op.create_index("ix_event_log_recorded_at", "event_log", ["recorded_at"])
    create_commit_ordered_position(op, "event_log")
    op.create_table(
        "event_sources",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("last_position", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )


def downgrade() -> None:
    op.drop_table("event_sources")
    op.execute("DROP TRIGGER IF EXISTS event_log_assign_position ON event_log")
    op.execute("DROP FUNCTION IF EXISTS event_log_assign_position()")
    op.drop_table("event_log")
    op.execute("DROP SEQUENCE IF EXISTS event_log_position_seq")
    drop_outbox(op)
