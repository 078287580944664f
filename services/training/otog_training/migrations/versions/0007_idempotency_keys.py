"""Idempotency-Key records: every POST of the training can be re-sent safely.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op
from otog_shared.idempotency.models import create_idempotency_table, drop_idempotency_table

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The same table as the loan ledger's (otog_shared.idempotency.models).
    create_idempotency_table(op)


def downgrade() -> None:
    drop_idempotency_table(op)
