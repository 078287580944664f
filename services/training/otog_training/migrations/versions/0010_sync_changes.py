"""Delta sync: the change log and the triggers that fill it from training sessions
and enrolments.

Revision ID: 0010
Revises: 0009
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

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, collection, rows): a cancelled enrolment is removed from the session.
ENTITIES = (
    ("training_sessions", "sessions", "SELECT {row}.id, {row}.province_code, false"),
    (
        "enrollments",
        "enrollments",
        "SELECT {row}.id, s.province_code, {row}.status = 'cancelled' "
        "FROM training_sessions s WHERE s.id = {row}.session_id",
    ),
)


def upgrade() -> None:
    create_sync_log(op)
    for table, collection, rows in ENTITIES:
        track_sync(op, table=table, collection=collection, rows=rows)
        backfill_sync(op, table=table, collection=collection, rows=rows)


def downgrade() -> None:
    for table, collection, _ in ENTITIES:
        untrack_sync(op, table=table, collection=collection)
    drop_sync_log(op)
