"""The change log behind delta sync, and the migration functions that fill it.

Every service that offers ``GET /v1/sync/{collection}`` has one append-only table,
``sync_changes``: one row per change of an entity of a collection, with the province
it belongs to and whether the change removed it (a tombstone).

``position`` is handed out at commit, in commit order, with the guarantee of
:func:`otog_shared.outbox.create_commit_ordered_position` (a reader that has seen
position n has seen every committed change below n, so a cursor that is a position never
skips a change that committed late), under the same advisory lock as the outbox, since one
transaction often writes both. Unlike the outbox, a transaction may write a hundred
thousand changes (a CSV import), so its positions are handed out in one statement: the
first of its rows' commit triggers numbers every row of the transaction, in the order
they were inserted (``seq``), with one block of the sequence.

Rows are written by triggers on the source tables, not by the repositories: every write
path (the API, scheduled jobs, the CSV import's bulk inserts, demo data, a migration, an
operator's SQL) is covered without each of them remembering to. The triggers are
statement-level with transition tables, one INSERT into the log per statement whatever
its number of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alembic.operations import Operations
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    MetaData,
    SmallInteger,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID

from otog_shared.outbox import OUTBOX_TABLE

SYNC_TABLE = "sync_changes"
HORIZON_TABLE = "sync_horizon"

# How a collection's ``rows`` names the changed row, and the alias it becomes (one no
# ``rows`` would choose for a table of its own).
ROW = "{row}"
_ALIAS = "sync_row"

_POSITION_FN = f"{SYNC_TABLE}_assign_position"
# The outbox's lock: see the module's docstring.
_LOCK = f"{OUTBOX_TABLE}.position"


def _sync_columns() -> list[Column[Any]]:
    return [
        Column(
            "id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
        ),
        # NULL until the commit hands it out.
        Column("position", BigInteger, nullable=True, unique=True),
        # Insertion order, to number a transaction's changes in the order made.
        Column(
            "seq", BigInteger, nullable=False, server_default=text(f"nextval('{SYNC_TABLE}_seq')")
        ),
        Column("collection", String(32), nullable=False),
        Column("entity_id", UUID(as_uuid=True), nullable=False),
        Column("province_code", String(2), nullable=True),
        Column("deleted", Boolean, nullable=False),
        Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


def _horizon_columns() -> list[Column[Any]]:
    return [
        Column("id", SmallInteger, primary_key=True, server_default=text("1")),
        Column("position", BigInteger, nullable=False, server_default=text("0")),
        Column("moved_at", DateTime(timezone=True), nullable=True),
    ]


# Province readers walk their province in position order; national readers the
# collection; "is there a later change of this entity" is the third; the purge finds old
# tombstones by the fourth, and the commit its own unnumbered rows by the fifth.
_INDEXES: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    (f"ix_{SYNC_TABLE}_scope", ("collection", "province_code", "position"), None),
    (f"ix_{SYNC_TABLE}_collection", ("collection", "position"), None),
    (f"ix_{SYNC_TABLE}_entity", ("collection", "entity_id", "position"), None),
    (f"ix_{SYNC_TABLE}_tombstones", ("changed_at",), "deleted"),
    (f"ix_{SYNC_TABLE}_unpositioned", ("seq",), "position IS NULL"),
)


def sync_tables(metadata: MetaData) -> tuple[Table, Table]:
    """The change log and its horizon as tables of the service's own metadata (its
    migrations create them with :func:`create_sync_log`)."""
    log = Table(
        SYNC_TABLE,
        metadata,
        *_sync_columns(),
        *(
            Index(name, *cols, postgresql_where=text(where) if where else None)
            for name, cols, where in _INDEXES
        ),
    )
    horizon = Table(
        HORIZON_TABLE,
        metadata,
        *_horizon_columns(),
        CheckConstraint("id = 1", name="single_row"),
    )
    return log, horizon


def create_sync_log(op: Operations) -> None:
    """For a service's migration: the change log, its commit-ordered position and the
    horizon (the highest position of a tombstone purged for its age)."""
    op.execute(f"CREATE SEQUENCE {SYNC_TABLE}_position_seq AS bigint")
    op.execute(f"CREATE SEQUENCE {SYNC_TABLE}_seq AS bigint")
    op.create_table(SYNC_TABLE, *_sync_columns())
    for name, cols, where in _INDEXES:
        op.create_index(
            name, SYNC_TABLE, list(cols), postgresql_where=text(where) if where else None
        )
    op.execute(_numbering_function("CREATE"))
    op.execute(
        f"CREATE CONSTRAINT TRIGGER {_POSITION_FN} AFTER INSERT ON {SYNC_TABLE} "
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {_POSITION_FN}()"
    )
    op.create_table(
        HORIZON_TABLE, *_horizon_columns(), CheckConstraint("id = 1", name="single_row")
    )
    op.execute(f"INSERT INTO {HORIZON_TABLE} (id, position) VALUES (1, 0)")  # noqa: S608


def _numbering_function(verb: str) -> str:
    """The commit trigger's function that numbers a transaction's changes.

    It looks only at index entries from the transaction's first change on
    (``seq >= NEW.seq``: the first trigger to fire is the first row inserted, and
    ``seq`` grows within a session). Every numbered change leaves a dead entry in the
    partial index until vacuum, and the count and the update run under the lock every
    committer waits for: scanning all of them made each commit slower the busier the
    log had been since the last vacuum."""
    return f"""
        {verb} FUNCTION {_POSITION_FN}() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            n bigint;
            first bigint;
        BEGIN
            -- Rows of uncommitted transactions are invisible here and committed ones
            -- are numbered, so "position IS NULL" is this transaction's rows; once
            -- numbered, the other rows' triggers have nothing to do.
            IF current_setting('otog.sync_numbered', true) = txid_current()::text THEN
                RETURN NULL;
            END IF;
            -- Held until the commit is visible: the next committer's positions are
            -- therefore greater than every position already visible.
            PERFORM pg_advisory_xact_lock(hashtext('{_LOCK}'));
            PERFORM set_config('otog.sync_numbered', txid_current()::text, true);
            SELECT count(*) INTO n FROM {SYNC_TABLE}
            WHERE position IS NULL AND seq >= NEW.seq;
            IF n = 0 THEN
                RETURN NULL;
            END IF;
            first := nextval('{SYNC_TABLE}_position_seq');
            IF n > 1 THEN
                PERFORM setval('{SYNC_TABLE}_position_seq', first + n - 1);
            END IF;
            UPDATE {SYNC_TABLE} AS c SET position = first + t.k - 1
            FROM (
                SELECT id, row_number() OVER (ORDER BY seq) AS k
                FROM {SYNC_TABLE} WHERE position IS NULL AND seq >= NEW.seq
            ) AS t
            WHERE c.id = t.id;
            RETURN NULL;
        END
        $$
        """  # noqa: S608


def renumber_from_first_change(op: Operations) -> None:
    """For a service's migration: replace the numbering function of a log created
    before it looked only from the transaction's first change on."""
    op.execute(_numbering_function("CREATE OR REPLACE"))


def drop_sync_log(op: Operations) -> None:
    op.execute(f"DROP TABLE IF EXISTS {HORIZON_TABLE}")
    op.execute(f"DROP TABLE IF EXISTS {SYNC_TABLE}")
    op.execute(f"DROP FUNCTION IF EXISTS {_POSITION_FN}()")
    op.execute(f"DROP SEQUENCE IF EXISTS {SYNC_TABLE}_seq")
    op.execute(f"DROP SEQUENCE IF EXISTS {SYNC_TABLE}_position_seq")


def _trigger_name(table: str, collection: str) -> str:
    return f"sync_{table}_{collection.replace('-', '_')}"


def _entities(rows: str, transition: str, changed_in: str | None, columns: Sequence[str]) -> str:
    """The (entity_id, province_code, deleted) of every row of a transition table; with
    ``columns``, of the rows whose columns differ from their other version. Identifiers
    and SQL come from migrations, never from input."""
    where = ""
    if columns:
        mine = ", ".join(f"{_ALIAS}.{c}" for c in columns)
        theirs = ", ".join(f"x.{c}" for c in columns)
        where = (
            f" WHERE EXISTS (SELECT 1 FROM {changed_in} AS x WHERE x.id = {_ALIAS}.id"  # noqa: S608
            f" AND ({mine}) IS DISTINCT FROM ({theirs}))"
        )
    lateral = rows.replace(ROW, _ALIAS)
    select = (
        f"SELECT s.entity_id, s.province_code, s.deleted FROM {transition} AS {_ALIAS}"  # noqa: S608
        f" CROSS JOIN LATERAL ({lateral}) AS s(entity_id, province_code, deleted)"
    )
    return select + where


def track_sync(
    op: Operations,
    *,
    table: str,
    collection: str,
    rows: str,
    part_of: bool = False,
    columns: Sequence[str] = (),
) -> None:
    """Record a change of ``collection`` whenever rows of ``table`` change.

    ``rows`` is a SELECT of ``(entity_id, province_code, deleted)`` for a changed row,
    which it names ``{row}``: ``SELECT {row}.id, {row}.province_code, false`` for a table
    that holds the collection's entities, ``SELECT {row}.id, g.province_code,
    {row}.left_at IS NOT NULL FROM groups g WHERE g.id = {row}.group_id`` when the
    province is the parent's and leaving is a removal.

    By default the table's rows are the entities: deleting a row is a tombstone, and so
    is an update that moves it out of a province (the old province hears of it; the new
    one gets the entity). With ``part_of=True`` the table is part of other entities (a
    product's photos or certifications are changes of the product): every change of a
    row is a change of the entities ``rows`` names, before and after, and ``deleted`` is
    what ``rows`` says of them. ``columns`` (with ``part_of``): only updates that change
    one of them count, inserts and deletes not at all (a worker's name shown in their
    memberships); the table's key must be ``id``.
    """
    fn = _trigger_name(table, collection)
    old_deleted = "o.deleted" if part_of else "true"
    old = _entities(rows, "sync_old", "sync_new", columns)
    new = _entities(rows, "sync_new", "sync_old", columns)
    insert = f"INSERT INTO {SYNC_TABLE} (collection, entity_id, province_code, deleted)"
    # Identifiers and SQL come from migrations, never from input.
    op.execute(
        f"""
        CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                {insert}
                SELECT '{collection}', o.entity_id, o.province_code, {old_deleted}
                FROM ({old}) AS o;
            ELSIF TG_OP = 'UPDATE' THEN
                -- Tombstones first: a transaction's changes are numbered in the order
                -- made, so an entity that moved ends with its new province's change.
                {insert}
                SELECT '{collection}', o.entity_id, o.province_code, {old_deleted}
                FROM ({old}) AS o
                WHERE NOT EXISTS (
                    SELECT 1 FROM ({new}) AS n
                    WHERE n.entity_id = o.entity_id
                      AND n.province_code IS NOT DISTINCT FROM o.province_code
                );
                {insert}
                SELECT '{collection}', n.entity_id, n.province_code, n.deleted FROM ({new}) AS n;
            ELSE
                {insert}
                SELECT '{collection}', n.entity_id, n.province_code, n.deleted FROM ({new}) AS n;
            END IF;
            RETURN NULL;
        END
        $$
        """  # noqa: S608
    )
    events = (
        [("UPDATE", "OLD TABLE AS sync_old NEW TABLE AS sync_new")]
        if columns
        else [
            ("INSERT", "NEW TABLE AS sync_new"),
            ("UPDATE", "OLD TABLE AS sync_old NEW TABLE AS sync_new"),
            ("DELETE", "OLD TABLE AS sync_old"),
        ]
    )
    for event, tables in events:
        op.execute(
            f"CREATE TRIGGER {fn}_{event.lower()} AFTER {event} ON {table} "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
        )


def untrack_sync(op: Operations, *, table: str, collection: str) -> None:
    fn = _trigger_name(table, collection)
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {fn}_{event} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {fn}()")


def backfill_sync(op: Operations, *, table: str, collection: str, rows: str) -> None:
    """One change per existing live entity, so that a first sync sees what was there
    before the log existed (the same ``rows`` as :func:`track_sync`)."""
    op.execute(
        f"""
        INSERT INTO {SYNC_TABLE} (collection, entity_id, province_code, deleted)
        SELECT DISTINCT ON (s.entity_id) '{collection}', s.entity_id, s.province_code, false
        FROM {table} AS {_ALIAS}
        CROSS JOIN LATERAL ({rows.replace(ROW, _ALIAS)}) AS s(entity_id, province_code, deleted)
        WHERE NOT s.deleted
        """  # noqa: S608
    )
