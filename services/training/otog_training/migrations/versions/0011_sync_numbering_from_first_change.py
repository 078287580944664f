"""Delta sync: the commit trigger numbers a transaction's changes looking only from
its first change on, not at every dead entry of the unnumbered-changes index.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op
from otog_shared.sync.schema import renumber_from_first_change

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    renumber_from_first_change(op)


def downgrade() -> None:
    # The earlier function numbered the same rows the same way, only by a longer
    # scan: nothing to restore.
    pass
