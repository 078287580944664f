"""Tokens for tests, signed with the same key file the registry processes use."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from otog_registry.oauth.keys import SigningKey


class TokenFactory:
    def __init__(self, key_path: Path, issuer: str = "otog", audience: str = "otog-api") -> None:
        self.key = SigningKey.load_or_create(key_path)
        self.issuer = issuer
        self.audience = audience

    def __call__(
        self,
        *scopes: str,
        province: str | None = None,
        client_id: str = "test-client",
        ttl: int = 600,
        **extra: object,
    ) -> str:
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client_id,
            "client_id": client_id,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "scope": " ".join(scopes),
            **extra,
        }
        if province:
            claims["province"] = province
        return self.key.sign(claims)

    def headers(self, *scopes: str, province: str | None = None, **kw: object) -> dict[str, str]:
        return {"Authorization": f"Bearer {self(*scopes, province=province, **kw)}"}
