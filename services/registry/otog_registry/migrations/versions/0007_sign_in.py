"""Sign-in for people: officers (users), public app clients, authorization codes,
refresh tokens, per-address failure counters, and the person in the audit trail.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[sa.DateTime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.add_column(
        "api_clients",
        sa.Column(
            "client_type", sa.String(16), server_default=sa.text("'confidential'"), nullable=False
        ),
    )
    op.add_column(
        "api_clients",
        sa.Column(
            "redirect_uris",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.alter_column("api_clients", "secret_hash", existing_type=sa.String(64), nullable=True)
    op.create_check_constraint(
        op.f("ck_api_clients_client_type"),
        "api_clients",
        "client_type IN ('confidential', 'public')",
    )
    op.create_check_constraint(
        op.f("ck_api_clients_secret_by_client_type"),
        "api_clients",
        "(client_type = 'public') = (secret_hash IS NULL)",
    )

    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.CheckConstraint(
            "province_code IS NULL OR province_code ~ '^[0-9]{2}$'",
            name=op.f("ck_users_province_code"),
        ),
        sa.CheckConstraint("username = lower(username)", name=op.f("ck_users_username_lower")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "sign_in_addresses",
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_sign_in_addresses")),
    )
    op.create_table(
        "authorization_codes",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("family_id", sa.UUID(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_clients.id"],
            name=op.f("fk_authorization_codes_client_id_api_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_authorization_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_authorization_codes")),
    )
    op.create_index(op.f("ix_authorization_codes_user_id"), "authorization_codes", ["user_id"])
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("family_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_clients.id"],
            name=op.f("fk_refresh_tokens_client_id_api_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_refresh_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_index(op.f("ix_refresh_tokens_user_id"), "refresh_tokens", ["user_id"])

    op.add_column("audit_events", sa.Column("actor_person", sa.Text(), nullable=True))
    op.create_index(op.f("ix_audit_events_actor_person"), "audit_events", ["actor_person"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_events_actor_person"), table_name="audit_events")
    op.drop_column("audit_events", "actor_person")
    op.drop_table("refresh_tokens")
    op.drop_table("authorization_codes")
    op.drop_table("sign_in_addresses")
    op.drop_table("users")
    op.drop_constraint(op.f("ck_api_clients_secret_by_client_type"), "api_clients", type_="check")
    op.drop_constraint(op.f("ck_api_clients_client_type"), "api_clients", type_="check")
    # Public clients have no secret and cannot survive the older schema.
    op.execute("DELETE FROM api_clients WHERE secret_hash IS NULL")
    op.alter_column("api_clients", "secret_hash", existing_type=sa.String(64), nullable=False)
    op.drop_column("api_clients", "redirect_uris")
    op.drop_column("api_clients", "client_type")
