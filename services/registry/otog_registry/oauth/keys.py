"""The registry's token signing key (Ed25519), kept in the data directory.

Generated on first start. Several worker processes may start at once, so the
key is written to a temporary file and linked into place: exactly one wins and
the others read the winner's key.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALGORITHM = "EdDSA"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SigningKey:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._public_jwk = {"crv": "Ed25519", "kty": "OKP", "x": _b64(raw)}
        # RFC 7638 thumbprint: stable across restarts, changes with the key.
        canonical = json.dumps(self._public_jwk, separators=(",", ":"), sort_keys=True)
        self.kid = _b64(hashlib.sha256(canonical.encode()).digest())

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, pem)
                os.close(fd)
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, path)
            finally:
                os.unlink(tmp)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise RuntimeError(f"{path} does not hold an Ed25519 private key")
        return cls(key)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self._public_jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}]}

    def derive_secret(self, label: str) -> bytes:
        """A key for another purpose (the sign-in page's CSRF tokens), the same in every
        worker process and across restarts, changing when this key is replaced."""
        raw = self._private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return hmac.new(raw, label.encode(), hashlib.sha256).digest()

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._private, algorithm=ALGORITHM, headers={"kid": self.kid})
