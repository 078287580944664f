"""Delta sync: the change log and the triggers that fill it from workers, groups,
memberships, products (and their certifications), visits and market links.

Revision ID: 0012
Revises: 0016
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

revision: str = "0012"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWN_PROVINCE = "SELECT {row}.id, {row}.province_code, false"
GROUP_PROVINCE = "SELECT {row}.id, g.province_code, false FROM groups g WHERE g.id = {row}.group_id"
# A membership that ended is removed from the group's members.
MEMBERSHIP = (
    "SELECT {row}.id, g.province_code, {row}.left_at IS NOT NULL "
    "FROM groups g WHERE g.id = {row}.group_id"
)

# (table, collection, rows): the tables whose rows are the collections' entities.
ENTITIES = (
    ("workers", "workers", OWN_PROVINCE),
    ("groups", "groups", OWN_PROVINCE),
    ("group_members", "members", MEMBERSHIP),
    ("products", "products", GROUP_PROVINCE),
    ("field_visits", "visits", GROUP_PROVINCE),
    ("market_links", "market-links", GROUP_PROVINCE),
)


def upgrade() -> None:
    create_sync_log(op)
    for table, collection, rows in ENTITIES:
        track_sync(op, table=table, collection=collection, rows=rows)
        backfill_sync(op, table=table, collection=collection, rows=rows)
    # A member is shown with the worker's names and masked ID.
    track_sync(
        op,
        table="workers",
        collection="members",
        rows=(
            "SELECT m.id, g.province_code, m.left_at IS NOT NULL FROM group_members m "
            "JOIN groups g ON g.id = m.group_id WHERE m.worker_id = {row}.id"
        ),
        part_of=True,
        columns=("first_name_th", "last_name_th", "national_id_encrypted"),
    )
    # A product is shown with its certifications.
    track_sync(
        op,
        table="certifications",
        collection="products",
        rows=(
            "SELECT p.id, g.province_code, false FROM products p "
            "JOIN groups g ON g.id = p.group_id WHERE p.id = {row}.product_id"
        ),
        part_of=True,
    )


def downgrade() -> None:
    untrack_sync(op, table="certifications", collection="products")
    untrack_sync(op, table="workers", collection="members")
    for table, collection, _ in ENTITIES:
        untrack_sync(op, table=table, collection=collection)
    drop_sync_log(op)
