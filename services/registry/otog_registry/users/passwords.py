"""argon2id password hashing, off the event loop.

One hash costs tens of milliseconds of CPU and tens of MiB of memory by design;
run on the event loop it would stall every other request of the process. Hashes
run in worker threads (argon2-cffi releases the GIL), at most
``password_hash_concurrency`` at once so that memory stays bounded.
"""

from __future__ import annotations

import anyio
import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(
        self, *, time_cost: int, memory_kib: int, parallelism: int, concurrency: int
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=Type.ID,
        )
        self._limiter = anyio.CapacityLimiter(concurrency)
        # Verified when the account is unknown or has no password, so that the
        # answer takes as long as for a wrong password (no username probing by time).
        self._dummy_hash = self._hasher.hash("not a password of anyone")

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._limiter)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        return await anyio.to_thread.run_sync(
            self._verify, stored_hash, password, limiter=self._limiter
        )

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            self._hasher.verify(stored_hash or self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)
