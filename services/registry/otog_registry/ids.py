"""Time-ordered UUIDs (version 7, RFC 9562).

Ordered ids keep inserts at the right edge of the primary-key index and let
lists page by ``id`` alone in creation order.
"""

from __future__ import annotations

import os
import time
import uuid

_KEEP = ~((0xF << 76) | (0b11 << 62))
_VERSION_AND_VARIANT = (0x7 << 76) | (0b10 << 62)


def new_id() -> uuid.UUID:
    # 48 bits of Unix milliseconds, then 80 random bits of which the version
    # (4 bits) and the variant (2 bits) are overwritten: 74 random bits remain.
    ms = (time.time_ns() // 1_000_000) & ((1 << 48) - 1)
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return uuid.UUID(int=(value & _KEEP) | _VERSION_AND_VARIANT)
