"""The loan ledger's ``Idempotency-Key`` is the shared one (``otog_shared.idempotency``)."""

from otog_shared.idempotency.service import (
    KEY_PATTERN,
    RETENTION,
    IdempotencyService,
    StoredResponse,
    check_key,
    fingerprint,
    lock_key,
)

__all__ = [
    "KEY_PATTERN",
    "RETENTION",
    "IdempotencyService",
    "StoredResponse",
    "check_key",
    "fingerprint",
    "lock_key",
]
