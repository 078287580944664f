"""The table of first responses, one per service database, all alike."""

from __future__ import annotations

from alembic.operations import Operations
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
)

from otog_shared.db import new_metadata


def _define(metadata: MetaData) -> Table:
    # The first successful response to a request made with an ``Idempotency-Key``.
    # Keys are per client. A row is written in the same transaction as the work it
    # records, so it exists exactly when the work was committed.
    return Table(
        "idempotency_keys",
        metadata,
        Column("client_id", Text, primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("method", Text, nullable=False),
        Column("path", Text, nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("response_status", Integer, nullable=False),
        # The exact bytes sent the first time, so a replay is byte-for-byte the same;
        # sealed where the service configures it (otog_shared.idempotency.sealing).
        Column("response_body", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
        CheckConstraint("response_status BETWEEN 200 AND 299", name="success_only"),
        # The expiry job deletes by age.
        Index("ix_idempotency_keys_created_at", "created_at"),
    )


# What the queries name; each service's metadata holds its own copy (for Alembic).
idempotency_keys = _define(new_metadata())


def add_idempotency_table(metadata: MetaData) -> Table:
    """Declare the table in a service's metadata (its migrations create it)."""
    return _define(metadata)


def create_idempotency_table(op: Operations) -> None:
    """For a service's migration: the table as it was first made, with a text body
    (migrations already applied call this); :func:`idempotency_body_to_bytes` then
    makes it the table ``add_idempotency_table`` declares."""
    import sqlalchemy as sa

    op.create_table(
        "idempotency_keys",
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "response_status BETWEEN 200 AND 299", name=op.f("ck_idempotency_keys_success_only")
        ),
        sa.PrimaryKeyConstraint("client_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def idempotency_body_to_bytes(op: Operations) -> None:
    """For a service's migration: a table made with a text body gets the bytes column
    a sealed body needs; the answers stored so far stay readable (their UTF-8, unsealed)."""
    op.execute(
        "ALTER TABLE idempotency_keys ALTER COLUMN response_body TYPE bytea "
        "USING convert_to(response_body, 'UTF8')"
    )


def idempotency_body_to_text(op: Operations) -> None:
    """Back to text; refused while a sealed body is stored (it would be lost)."""
    op.execute(
        "ALTER TABLE idempotency_keys ALTER COLUMN response_body TYPE text "
        "USING convert_from(response_body, 'UTF8')"
    )


def drop_idempotency_table(op: Operations) -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
