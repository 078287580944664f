"""The change log behind delta sync, and the migration functions that fill it.

Every service that offers ``GET /v1/sync/{collection}`` has one append-only table,
``sync_changes``: one row per change of an entity of a collection, with the province
it belongs to and whether the change removed it (a tombstone). ``position`` is handed
out at commit, in commit order (:func:`otog_shared.outbox.create_commit_ordered_position`),
so a reader that has seen position n has seen every committed change below n, and a
cursor that is a position never skips a change that committed late.

Rows are written by triggers on the source tables, not by the repositories: every
write path (the API, scheduled jobs, the CSV import's bulk inserts, demo data, a
migration, an operator's SQL) is covered without each of them remembering to.
"""

from __future__ import annotations

from alembic.operations import Operations

from otog_shared.outbox import (
    OUTBOX_TABLE,
    create_commit_ordered_position,
    drop_commit_ordered_position,
)

SYNC_TABLE = "sync_changes"
HORIZON_TABLE = "sync_horizon"

# Which SQL a collection's ``rows`` may name the changed row by.
ROW = "{row}"


def create_sync_log(op: Operations) -> None:
    """For a service's migration: the change log, its commit-ordered position and the
    horizon (the highest position of a tombstone purged for its age)."""
    op.execute(
        f"""
        CREATE TABLE {SYNC_TABLE} (
            id uuid PRIMARY KEY,
            position bigint UNIQUE,
            collection varchar(32) NOT NULL,
            entity_id uuid NOT NULL,
            province_code varchar(2),
            deleted boolean NOT NULL,
            changed_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # Province readers walk their province in position order; national readers the
    # collection; "is there a later change of this entity" is the third.
    op.execute(
        f"CREATE INDEX ix_{SYNC_TABLE}_scope ON {SYNC_TABLE} (collection, province_code, position)"
    )
    op.execute(f"CREATE INDEX ix_{SYNC_TABLE}_collection ON {SYNC_TABLE} (collection, position)")
    op.execute(
        f"CREATE INDEX ix_{SYNC_TABLE}_entity ON {SYNC_TABLE} (collection, entity_id, position)"
    )
    op.execute(
        f"CREATE INDEX ix_{SYNC_TABLE}_tombstones ON {SYNC_TABLE} (changed_at) WHERE deleted"
    )
    # The outbox's lock: a transaction that records an event changes a tracked row too,
    # and the two positions are handed out at its commit in the order of its inserts.
    create_commit_ordered_position(op, SYNC_TABLE, lock=f"{OUTBOX_TABLE}.position")
    op.execute(
        f"""
        CREATE TABLE {HORIZON_TABLE} (
            id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
            position bigint NOT NULL DEFAULT 0,
            moved_at timestamptz
        )
        """
    )
    op.execute(f"INSERT INTO {HORIZON_TABLE} (id, position) VALUES (1, 0)")  # noqa: S608


def drop_sync_log(op: Operations) -> None:
    op.execute(f"DROP TABLE IF EXISTS {HORIZON_TABLE}")
    drop_commit_ordered_position(op, SYNC_TABLE)
    op.execute(f"DROP TABLE IF EXISTS {SYNC_TABLE}")


def _trigger_name(table: str, collection: str) -> str:
    return f"sync_{table}_{collection.replace('-', '_')}"


def _rows(rows: str, alias: str) -> str:
    return rows.replace(ROW, alias)


def track_sync(
    op: Operations,
    *,
    table: str,
    collection: str,
    rows: str,
    part_of: bool = False,
    on: str = "INSERT OR UPDATE OR DELETE",
) -> None:
    """Record a change of ``collection`` whenever a row of ``table`` changes.

    ``rows`` is a SELECT of ``(entity_id, province_code, deleted)`` for the changed row,
    which it names ``{row}``: ``SELECT {row}.id, {row}.province_code, false`` for a table
    that holds the collection's entities, ``SELECT {row}.id, g.province_code,
    {row}.left_at IS NOT NULL FROM groups g WHERE g.id = {row}.group_id`` when the
    province is the parent's and leaving is a removal.

    By default the table's rows are the entities: deleting a row is a tombstone, and so
    is an update that moves it out of a province (the old province hears of it; the new
    one gets the entity). With ``part_of=True`` the table is part of other entities (a
    product's photos or certifications are changes of the product): every change of a
    row is a change of the entities ``rows`` names, before and after, and ``deleted`` is
    what ``rows`` says of them. ``on`` narrows the trigger (``UPDATE OF first_name_th``).
    """
    fn = _trigger_name(table, collection)
    old_deleted = "o.deleted" if part_of else "true"
    # Identifiers and SQL come from migrations, never from input.
    op.execute(
        f"""
        CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                -- Tombstones first: positions follow insertion within a transaction,
                -- so an entity that moved ends with its new province's change.
                INSERT INTO {SYNC_TABLE} (id, collection, entity_id, province_code, deleted)
                SELECT gen_random_uuid(), '{collection}', o.entity_id, o.province_code,
                       {old_deleted}
                FROM ({_rows(rows, "OLD")}) AS o(entity_id, province_code, deleted)
                WHERE TG_OP = 'DELETE' OR NOT EXISTS (
                    SELECT 1 FROM ({_rows(rows, "NEW")}) AS n(entity_id, province_code, deleted)
                    WHERE n.entity_id = o.entity_id
                      AND n.province_code IS NOT DISTINCT FROM o.province_code
                );
            END IF;
            IF TG_OP <> 'DELETE' THEN
                INSERT INTO {SYNC_TABLE} (id, collection, entity_id, province_code, deleted)
                SELECT gen_random_uuid(), '{collection}', n.entity_id, n.province_code,
                       n.deleted
                FROM ({_rows(rows, "NEW")}) AS n(entity_id, province_code, deleted);
            END IF;
            RETURN NULL;
        END
        $$
        """  # noqa: S608
    )
    op.execute(f"CREATE TRIGGER {fn} AFTER {on} ON {table} FOR EACH ROW EXECUTE FUNCTION {fn}()")


def untrack_sync(op: Operations, *, table: str, collection: str) -> None:
    fn = _trigger_name(table, collection)
    op.execute(f"DROP TRIGGER IF EXISTS {fn} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {fn}()")


def backfill_sync(op: Operations, *, table: str, collection: str, rows: str) -> None:
    """One change per existing live entity, so that a first sync sees what was there
    before the log existed (the same ``rows`` as :func:`track_sync`)."""
    op.execute(
        f"""
        INSERT INTO {SYNC_TABLE} (id, collection, entity_id, province_code, deleted)
        SELECT DISTINCT ON (s.entity_id) gen_random_uuid(), '{collection}', s.entity_id,
               s.province_code, false
        FROM {table} AS r
        CROSS JOIN LATERAL ({_rows(rows, "r")}) AS s(entity_id, province_code, deleted)
        WHERE NOT s.deleted
        """  # noqa: S608
    )
