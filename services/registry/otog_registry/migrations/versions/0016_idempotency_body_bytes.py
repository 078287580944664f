"""Stored first answers of Idempotency-Keys are bytes, so that they can be sealed.

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op
from otog_shared.idempotency.models import idempotency_body_to_bytes, idempotency_body_to_text

revision: str = "0016"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The same change in every service (otog_shared.idempotency.sealing says why).
    idempotency_body_to_bytes(op)


def downgrade() -> None:
    idempotency_body_to_text(op)
