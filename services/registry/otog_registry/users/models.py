from __future__ import annotations

import uuid
from datetime import datetime

from otog_shared.db import TimestampMixin
from sqlalchemy import CheckConstraint, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from otog_registry.models import Base


class User(TimestampMixin, Base):
    """A person who signs in through an app: a field officer, a provincial loan
    officer, a labour volunteer. Scopes and province bound what their tokens can do."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "province_code IS NULL OR province_code ~ '^[0-9]{2}$'", name="province_code"
        ),
        # Usernames are compared case-insensitively: stored lower-cased.
        CheckConstraint("username = lower(username)", name="username_lower"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(Text, nullable=False)
    # argon2id, PHC string format (parameters and salt included). NULL until set:
    # such a user cannot sign in.
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    # Failed sign-ins since the last success; each one past a threshold makes the
    # next attempt wait longer, and enough of them lock the account until locked_until.
    failed_attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SignInAddress(Base):
    """Failed sign-ins per client address in the current window (any account), so
    one address trying many usernames is slowed down as well."""

    __tablename__ = "sign_in_addresses"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
