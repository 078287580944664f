"""Stored first answers, sealed at rest when the service holds personal data.

A re-send (``Idempotency-Key``, kept 30 days) or a create named by a client-chosen id
(kept as long as the resource) is answered with the first response's exact bytes,
so those bytes are stored. In the registry they can hold a national ID (a worker
created by a caller with ``pii:read``) or a webhook's signing secret (shown once, at
creation): secrets the registry otherwise keeps only encrypted. A service that holds
such data configures a :class:`Sealer` (:func:`seal_stored_answers`); every stored
body then goes through it, bound by associated data to its own record (the table and
the record's key), so a sealed body copied to another row does not open there.

What a body column holds: a sealed body starts with :data:`SEALED` (a byte no JSON
text starts with), then the sealer's own bytes, which begin with the id of the key
that sealed them so keys can rotate. Anything else is the answer's UTF-8 JSON as it
was sent: rows written before sealing was configured, and the services that hold no
personal data (training, the loan ledger), stay readable as they are.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import FastAPI, Request

log = logging.getLogger(__name__)

SEALED = b"\x00"
_STATE = "stored_answer_sealer"
_NONCE_BYTES = 12
# Apart from every other use of a key the sealer may share (national IDs, secrets).
_PURPOSE = b"otog:stored_answer\x1f"


class StoredAnswerUnreadable(Exception):
    """A stored body that does not open for its record: moved from another row, sealed
    under a key this service no longer has, or sealed where no sealer is configured."""


class Sealer(Protocol):
    """Encrypts stored answers. ``seal``'s output starts with the id of the key used,
    and ``open`` finds that key again (raising ``StoredAnswerUnreadable`` when the
    bytes do not open with it and ``associated_data``)."""

    def seal(self, plain: bytes, associated_data: bytes) -> bytes: ...

    def open(self, sealed: bytes, associated_data: bytes) -> bytes: ...


class AesGcmSealer:
    """AES-256-GCM under a ring of keys by one-byte id: seals with ``current``, opens
    with whichever key a body names (a rotation adds a key and moves ``current``; the
    old one stays until the last body it sealed has expired or been sealed again)."""

    def __init__(self, keys: Mapping[int, bytes], current: int) -> None:
        if current not in keys:
            raise ValueError("the current key must be in the ring")
        if not all(0 <= key_id <= 255 for key_id in keys):
            raise ValueError("key ids are one byte")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current = current

    def seal(self, plain: bytes, associated_data: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        aead = self._keys[self._current]
        return (
            bytes([self._current]) + nonce + aead.encrypt(nonce, plain, _PURPOSE + associated_data)
        )

    def open(self, sealed: bytes, associated_data: bytes) -> bytes:
        aead = self._keys.get(sealed[0]) if sealed else None
        if aead is None:
            raise StoredAnswerUnreadable("sealed under a key this service does not have")
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return aead.decrypt(nonce, ciphertext, _PURPOSE + associated_data)
        except InvalidTag as exc:
            raise StoredAnswerUnreadable("does not open for this record") from exc


def seal_stored_answers(app: FastAPI, sealer: Sealer) -> None:
    """From now on the app stores first answers sealed by ``sealer``."""
    setattr(app.state, _STATE, sealer)


def sealer_of(request: Request) -> Sealer | None:
    sealer: Sealer | None = getattr(request.app.state, _STATE, None)
    return sealer


def record_context(table: str, *parts: str) -> bytes:
    """Associated data naming one record: its table and its key, unambiguously."""
    return "\x1f".join((table, *parts)).encode()


def store_body(sealer: Sealer | None, body: str, context: bytes) -> bytes:
    plain = body.encode()
    return plain if sealer is None else SEALED + sealer.seal(plain, context)


def read_body(sealer: Sealer | None, stored: bytes, context: bytes) -> str:
    if not stored.startswith(SEALED):
        return stored.decode()
    if sealer is None:
        raise StoredAnswerUnreadable("sealed, and this service has no sealer")
    try:
        return sealer.open(stored[len(SEALED) :], context).decode()
    except StoredAnswerUnreadable:
        # Not the caller's doing: a row tampered with or a key lost. Say so to operators.
        log.warning("a stored answer does not open for its record (%s)", context.split(b"\x1f")[0])
        raise
