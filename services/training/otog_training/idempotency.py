"""The shared ``Idempotency-Key`` table (otog_shared.idempotency), declared for migrations."""

from __future__ import annotations

from otog_shared.idempotency.models import add_idempotency_table

from otog_training.models import Base

idempotency_keys = add_idempotency_table(Base.metadata)
