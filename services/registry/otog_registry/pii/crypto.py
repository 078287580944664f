"""Encryption at rest and keyed hashing of national IDs.

A national ID is stored twice, never in clear: AES-256-GCM ciphertext (to show it
to callers with ``pii:read``) and HMAC-SHA256 under a separate key (for exact
lookup and the uniqueness constraint). Without the HMAC key, the hash of a
13-digit number with a known checksum could be brute-forced in seconds, so a
plain hash would not do.

Keys come from settings; when absent they are generated on first start into
the data directory, written to a temporary file and linked into place so that
several worker processes starting at once agree on one set.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from otog_registry.settings import RegistrySettings

KEY_BYTES = 32
NONCE_BYTES = 12
# First byte of every ciphertext, so a later key rotation can tell old from new.
FORMAT_V1 = b"\x01"
_AAD = b"otog:national_id"


class PiiKeyError(RuntimeError):
    pass


@dataclass(frozen=True)
class PiiKeys:
    encryption_key: bytes
    hmac_key: bytes

    @classmethod
    def from_settings(cls, settings: RegistrySettings) -> PiiKeys:
        enc = settings.pii_key.get_secret_value() if settings.pii_key else None
        mac = settings.pii_hmac_key.get_secret_value() if settings.pii_hmac_key else None
        if enc and mac:
            return cls(
                _decode_key(enc, "REGISTRY_PII_KEY"), _decode_key(mac, "REGISTRY_PII_HMAC_KEY")
            )
        if enc or mac:
            raise PiiKeyError("Set both REGISTRY_PII_KEY and REGISTRY_PII_HMAC_KEY, or neither.")
        return cls.load_or_create(settings.pii_key_path)

    @classmethod
    def load_or_create(cls, path: Path) -> PiiKeys:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            document = json.dumps(
                {
                    "encryption_key": base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode(),
                    "hmac_key": base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode(),
                }
            ).encode()
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pii-")
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, document)
                os.close(fd)
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, path)
            finally:
                os.unlink(tmp)
        try:
            stored = json.loads(path.read_text())
            return cls(
                _decode_key(stored["encryption_key"], str(path)),
                _decode_key(stored["hmac_key"], str(path)),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise PiiKeyError(f"{path} does not hold the PII keys") from exc


def _decode_key(value: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PiiKeyError(f"{where}: not base64") from exc
    if len(raw) != KEY_BYTES:
        raise PiiKeyError(f"{where}: must be {KEY_BYTES} bytes")
    return raw


class NationalIdProtector:
    def __init__(self, keys: PiiKeys) -> None:
        self._aead = AESGCM(keys.encryption_key)
        # Keyed once; each lookup copies it (cheaper than keying again per ID).
        self._hmac = hmac.new(keys.hmac_key, digestmod=hashlib.sha256)

    def lookup_hash(self, national_id: str) -> bytes:
        mac = self._hmac.copy()
        mac.update(national_id.encode())
        return mac.digest()

    def encrypt(self, national_id: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return FORMAT_V1 + nonce + self._aead.encrypt(nonce, national_id.encode(), _AAD)

    def encrypt_many(self, national_ids: list[str]) -> list[bytes]:
        """As ``encrypt`` for each, with the nonces drawn in one call (a bulk import's)."""
        nonces = secrets.token_bytes(NONCE_BYTES * len(national_ids))
        aead = self._aead.encrypt
        out = []
        for i, nid in enumerate(national_ids):
            nonce = nonces[i * NONCE_BYTES : (i + 1) * NONCE_BYTES]
            out.append(FORMAT_V1 + nonce + aead(nonce, nid.encode(), _AAD))
        return out

    def decrypt(self, blob: bytes) -> str:
        if blob[:1] != FORMAT_V1:
            raise PiiKeyError("unknown national ID ciphertext format")
        nonce = blob[1 : 1 + NONCE_BYTES]
        return self._aead.decrypt(nonce, blob[1 + NONCE_BYTES :], _AAD).decode()
