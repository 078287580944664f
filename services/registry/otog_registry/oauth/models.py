from __future__ import annotations

import uuid
from datetime import datetime

from otog_shared.db import TimestampMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from otog_registry.models import Base

CLIENT_TYPES = ("confidential", "public")


class ApiClient(TimestampMixin, Base):
    """An integrator (partner ministry, office) allowed to ask for tokens, or an app
    (a public client: no secret, registered redirect URIs, people sign in through it)."""

    __tablename__ = "api_clients"
    __table_args__ = (
        CheckConstraint(
            "province_code IS NULL OR province_code ~ '^[0-9]{2}$'", name="province_code"
        ),
        CheckConstraint("client_type IN ('confidential', 'public')", name="client_type"),
        # A confidential client authenticates with its secret; a public one cannot keep one.
        CheckConstraint(
            "(client_type = 'public') = (secret_hash IS NULL)", name="secret_by_client_type"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    client_type: Mapped[str] = mapped_column(
        String(16), nullable=False, server_default=text("'confidential'")
    )
    # SHA-256 of a 256-bit random secret: a slow KDF adds nothing against
    # guessing a secret of that entropy and would slow every token request.
    secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    # Matched exactly, character for character (RFC 9700 §4.1.3).
    redirect_uris: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'")
    )
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @property
    def is_public(self) -> bool:
        return self.client_type == "public"


class AuthorizationCode(TimestampMixin, Base):
    """A code handed to an app's redirect URI after a sign-in; only its hash is kept.

    It is bound to the app, the redirect URI, the PKCE challenge, the user and the
    scopes, lives ``authorization_code_ttl_seconds`` (≤ 60 s) and is used once; the
    refresh-token family it starts is named here so that a replayed code can revoke
    what the first exchange issued (RFC 6749 §4.1.2)."""

    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("api_clients.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    redirect_uri: Mapped[str] = mapped_column(Text, nullable=False)
    code_challenge: Mapped[str] = mapped_column(String(128), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RefreshToken(TimestampMixin, Base):
    """An opaque refresh token (only its SHA-256 is stored), one per rotation.

    Every token of one sign-in shares ``family_id``. A token is good once: using it
    sets ``used_at`` and issues its successor; presenting a used one means it was
    copied, so the whole family is revoked (RFC 9700 §4.14.2)."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family_id", "family_id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    client_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("api_clients.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
