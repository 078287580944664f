"""The loan ledger's ``Idempotency-Key`` is the shared one (``otog_shared.idempotency``)."""

from otog_shared.idempotency.http import (
    IDEMPOTENCY_HEADER,
    KEY_REQUIRED,
    KEY_REQUIRED_MARK,
    KEY_SCHEMA,
    REPLAY_HEADER,
    IdempotencyKey,
    run_idempotent,
)

__all__ = [
    "IDEMPOTENCY_HEADER",
    "KEY_REQUIRED",
    "KEY_REQUIRED_MARK",
    "KEY_SCHEMA",
    "REPLAY_HEADER",
    "IdempotencyKey",
    "run_idempotent",
]
