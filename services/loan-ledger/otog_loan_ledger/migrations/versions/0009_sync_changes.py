"""Delta sync: the change log and the triggers that fill it from loans, their
repayments and the reversals of those.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op
from otog_shared.sync.schema import (
    backfill_sync,
    create_sync_log,
    drop_sync_log,
    track_sync,
    untrack_sync,
)

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOANS = "SELECT {row}.id, {row}.province_code, false"


def upgrade() -> None:
    create_sync_log(op)
    track_sync(op, table="loans", collection="loans", rows=LOANS)
    backfill_sync(op, table="loans", collection="loans", rows=LOANS)
    # A loan is shown with what was repaid: a repayment or its reversal changes it.
    track_sync(
        op,
        table="repayments",
        collection="loans",
        rows="SELECT l.id, l.province_code, false FROM loans l WHERE l.id = {row}.loan_id",
        part_of=True,
    )
    track_sync(
        op,
        table="repayment_reversals",
        collection="loans",
        rows=(
            "SELECT l.id, l.province_code, false FROM repayments r "
            "JOIN loans l ON l.id = r.loan_id WHERE r.id = {row}.repayment_id"
        ),
        part_of=True,
    )


def downgrade() -> None:
    untrack_sync(op, table="repayment_reversals", collection="loans")
    untrack_sync(op, table="repayments", collection="loans")
    untrack_sync(op, table="loans", collection="loans")
    drop_sync_log(op)
