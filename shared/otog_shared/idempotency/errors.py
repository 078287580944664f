"""The problems an ``Idempotency-Key`` can raise, the same in every service."""

from __future__ import annotations

from otog_shared.errors import BadRequest, Conflict, UnprocessableEntity


class IdempotencyKeyMissing(BadRequest):
    slug, title = "idempotency-key-missing", "Idempotency Key Missing"


class IdempotencyKeyReused(UnprocessableEntity):
    slug, title = "idempotency-key-reused", "Idempotency Key Reused"


class IdempotencyKeyInFlight(Conflict):
    slug, title = "idempotency-key-in-flight", "Idempotency Key In Flight"
