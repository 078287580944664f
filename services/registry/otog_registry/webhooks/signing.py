"""Signing secrets: made here, stored encrypted, used by the delivery worker.

A secret must be readable again to sign (it is an HMAC key, not a password), so it is
kept AES-256-GCM-encrypted under the registry's personal-data encryption key
(``REGISTRY_PII_KEY`` or the generated key file): a copy of the database alone
signs nothing. The associated data binds each ciphertext to its purpose.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from standardwebhooks import Webhook

from otog_registry.pii.crypto import PiiKeys

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix
SECRET_BYTES = 32
_NONCE_BYTES = 12
_FORMAT_V1 = b"\x01"
_AAD = b"otog:webhook_secret"


def new_secret() -> str:
    """``whsec_`` and 32 random bytes in base64, the Standard Webhooks form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class SecretBox:
    def __init__(self, keys: PiiKeys) -> None:
        self._aead = AESGCM(keys.encryption_key)

    def seal(self, secret: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return _FORMAT_V1 + nonce + self._aead.encrypt(nonce, secret.encode(), _AAD)

    def open(self, blob: bytes) -> str:
        if blob[:1] != _FORMAT_V1:
            raise ValueError("unknown webhook secret ciphertext format")
        nonce = blob[1 : 1 + _NONCE_BYTES]
        return self._aead.decrypt(nonce, blob[1 + _NONCE_BYTES :], _AAD).decode()


def signature_header(
    event_id: str, timestamp: datetime, body: bytes, signers: list[Webhook]
) -> str:
    """``webhook-signature``: one ``v1,<base64>`` per secret, space separated (the
    current secret first, the previous one during a rotation's overlap)."""
    return " ".join(w.sign(event_id, timestamp, body) for w in signers)


class Signers:
    """The signer of each sealed secret, opened once: every attempt is signed anew
    (its timestamp is signed), and opening and decoding the secret each time cost
    more than the HMAC itself. Keyed by the ciphertext, so a rotated secret is a
    new entry; the few of retired secrets are dropped past ``MAX``."""

    MAX = 4096

    def __init__(self, box: SecretBox) -> None:
        self._box = box
        self._opened: dict[bytes, Webhook] = {}

    def of(self, sealed: bytes) -> Webhook:
        signer = self._opened.get(sealed)
        if signer is None:
            if len(self._opened) >= self.MAX:
                self._opened.clear()
            signer = Webhook(self._box.open(sealed))
            self._opened[sealed] = signer
        return signer
