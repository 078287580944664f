"""The table of client-chosen ids, one per service database, all alike."""

from __future__ import annotations

from alembic.operations import Operations
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    func,
)

from otog_shared.db import new_metadata


def _define(metadata: MetaData) -> Table:
    # One row per resource created with an id the client chose, written in the
    # create's own transaction: it exists exactly when the resource was committed.
    return Table(
        "created_resources",
        metadata,
        # Unique across kinds: an id names one resource of the service, whatever it is.
        Column("id", Uuid, primary_key=True),
        # The create it came from: "POST /v1/groups/{group_id}/visits".
        Column("kind", Text, nullable=False),
        # Who created it (a client, or a person signed in through an app): only they
        # are answered with the resource on a re-send.
        Column("owner", Text, nullable=False),
        # SHA-256 of the create's method, path and validated body (without the id).
        Column("body_sha256", String(64), nullable=False),
        Column("response_status", Integer, nullable=False),
        # The first answer, byte for byte, so a retrying app cannot tell it from the
        # one it lost; sealed where the service configures it
        # (otog_shared.idempotency.sealing).
        Column("response_body", LargeBinary, nullable=False),
        Column("location", Text, nullable=True),
        Column("etag", Text, nullable=True),
        Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
        CheckConstraint("response_status BETWEEN 200 AND 299", name="success_only"),
    )


# What the queries name; each service's metadata holds its own copy (for Alembic).
created_resources = _define(new_metadata())


def add_created_resources_table(metadata: MetaData) -> Table:
    """Declare the table in a service's metadata (its migrations create it)."""
    return _define(metadata)


def create_created_resources_table(op: Operations) -> None:
    """For a service's migration: the table as ``add_created_resources_table`` declares it."""
    import sqlalchemy as sa

    op.create_table(
        "created_resources",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.LargeBinary(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "response_status BETWEEN 200 AND 299",
            name=op.f("ck_created_resources_success_only"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_created_resources")),
    )


def drop_created_resources_table(op: Operations) -> None:
    op.drop_table("created_resources")
