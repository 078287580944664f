"""Webhook deliveries: an index of the leased ones, so that a claim counts a
subscription's attempts in flight without reading its whole backlog.

Each claim counts the subscription's deliveries under a live lease (the bound on
attempts in flight holds across workers). The due-deliveries index does not hold the
lease, so the count read every pending delivery of the subscription: nothing while
deliveries keep up, thousands of rows per claim once a backlog formed, and the
claims' growing cost then slowed everything else on the database. This index holds
only the leased ones.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_webhook_deliveries_leased",
        "webhook_deliveries",
        ["subscription_id", "lease_until"],
        postgresql_where=sa.text("status = 'pending' AND lease_until IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_leased", table_name="webhook_deliveries")
