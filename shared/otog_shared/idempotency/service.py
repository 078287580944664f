"""Safe retries of ``POST`` requests (``Idempotency-Key``), in every service.

The same key (per client) with the same request gives back the first
response, byte for byte, and does nothing more; with a different request it is
refused (422); while the first request is still running, a duplicate is told
so (409) instead of waiting.

How: the request's transaction first takes a PostgreSQL advisory lock on the
(client, key) pair without waiting. Failing to get it means another
transaction is working on that key right now: in flight. Holding it, a stored
response means the work was done and committed before: replay it. Otherwise
the work runs and its response is stored in the same transaction, so the
record exists exactly when the work was committed; the lock goes when the
transaction ends (also when a process dies), so nothing is ever stuck "in
flight". Only successful responses are stored: a request that failed posted
nothing, and retrying it with the same key runs it again.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from otog_shared.errors import BadRequest
from otog_shared.idempotency.errors import IdempotencyKeyInFlight, IdempotencyKeyReused
from otog_shared.idempotency.models import idempotency_keys
from otog_shared.idempotency.sealing import (
    Sealer,
    StoredAnswerUnreadable,
    read_body,
    record_context,
    store_body,
)
from otog_shared.scheduler import Job

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")

# How long a key is remembered. Stripe keeps keys 24 hours, which suits servers that
# retry within minutes. Our callers include field officers' apps that queue a
# repayment or a visit while offline in a village and send it again days later; a key
# forgotten by then would post the money (or the visit) twice. A month covers any
# realistic offline spell and costs one small row per request sent with a key.
RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str


def fingerprint(method: str, path: str, payload: Any) -> str:
    """Identity of a request: method, path and the body's canonical JSON."""
    canonical = json.dumps(
        {"method": method.upper(), "path": path, "body": payload},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def lock_key(client_id: str, key: str) -> str:
    """Text hashed into the advisory lock's 64-bit id (a separator no key contains)."""
    return f"idempotency\x1f{client_id}\x1f{key}"


def check_key(key: str) -> None:
    if not KEY_PATTERN.match(key):
        raise BadRequest(
            "The Idempotency-Key header must be 1 to 255 visible ASCII characters "
            "(a UUID is a good choice)."
        )


# Built once: every POST with a key runs these.
_TRY_LOCK_SQL = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:lock_key, 0))")
_STORED = select(
    idempotency_keys.c.request_hash,
    idempotency_keys.c.response_status,
    idempotency_keys.c.response_body,
).where(
    idempotency_keys.c.client_id == bindparam("client_id"),
    idempotency_keys.c.key == bindparam("key"),
)
_STORE = insert(idempotency_keys)


def _context(client_id: str, key: str) -> bytes:
    return record_context("idempotency_keys", client_id, key)


class IdempotencyService:
    def __init__(self, session: AsyncSession, sealer: Sealer | None = None) -> None:
        self.session = session
        # Seals stored answers (otog_shared.idempotency.sealing); None keeps them as sent.
        self.sealer = sealer

    async def claim(self, client_id: str, key: str, request_hash: str) -> StoredResponse | None:
        """Take the key for this transaction; the stored response if it was used before."""
        locked = (
            await self.session.execute(_TRY_LOCK_SQL, {"lock_key": lock_key(client_id, key)})
        ).scalar_one()
        if not locked:
            raise IdempotencyKeyInFlight(
                "A request with this Idempotency-Key is still being processed; "
                "retry in a moment to get its response.",
                headers={"Retry-After": "1"},
            )
        record = (
            await self.session.execute(_STORED, {"client_id": client_id, "key": key})
        ).one_or_none()
        if record is None:
            return None
        if record.request_hash != request_hash:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request; "
                "use a new key for a new request."
            )
        try:
            body = read_body(self.sealer, record.response_body, _context(client_id, key))
        except StoredAnswerUnreadable as exc:
            # The stored answer is not this key's (a body moved from another row) or
            # cannot be opened any more: it is given to nobody, and running the work
            # again could do it twice. To the caller, the key is spent.
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used and its answer cannot be given "
                "back; use a new key for a new request."
            ) from exc
        return StoredResponse(record.response_status, body)

    async def record(
        self,
        *,
        client_id: str,
        key: str,
        method: str,
        path: str,
        request_hash: str,
        status: int,
        body: str,
    ) -> None:
        try:
            await self.session.execute(
                _STORE,
                {
                    "client_id": client_id,
                    "key": key,
                    "method": method.upper(),
                    "path": path,
                    "request_hash": request_hash,
                    "response_status": status,
                    "response_body": store_body(self.sealer, body, _context(client_id, key)),
                },
            )
        except IntegrityError as exc:  # pragma: no cover - the advisory lock prevents it
            raise IdempotencyKeyInFlight(
                "A request with this Idempotency-Key raced this one."
            ) from exc

    async def expire(self, older_than: datetime) -> int:
        """Forget keys first used before ``older_than``; how many went."""
        result = await self.session.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at < older_than)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


async def expire_idempotency_keys(session: AsyncSession, now: datetime) -> int:
    return await IdempotencyService(session).expire(now - RETENTION)


def idempotency_expiry_job() -> Job:
    """Every service's hourly job that forgets keys older than ``RETENTION``."""
    return Job("idempotency-expiry", "20 * * * *", expire_idempotency_keys)
