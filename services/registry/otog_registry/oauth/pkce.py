"""PKCE (RFC 7636), S256 only: OAuth 2.1 and RFC 9700 drop `plain`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

# 43–128 characters of the unreserved set (RFC 7636 §4.1).
VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
# BASE64URL(SHA256(verifier)) without padding is always 43 characters.
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_valid_challenge(challenge: str) -> bool:
    return CHALLENGE.fullmatch(challenge) is not None


def verifier_matches(verifier: str, challenge: str) -> bool:
    if VERIFIER.fullmatch(verifier) is None:
        return False
    return hmac.compare_digest(s256(verifier), challenge)
