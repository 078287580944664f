"""Refresh tokens of people's sign-ins: opaque, stored hashed, rotated on every
use; a used one presented again revokes its whole family (every token of that
sign-in), since either the app or a thief holds a copy (RFC 9700 §4.14.2)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from otog_registry.audit.service import AuditLog
from otog_registry.oauth.errors import InvalidGrant
from otog_registry.oauth.models import ApiClient, RefreshToken
from otog_registry.oauth.repository import RefreshTokenRepository


def token_hash(token: str) -> str:
    # 256 random bits: a fast hash is enough; the table never holds a usable token.
    return hashlib.sha256(token.encode()).hexdigest()


class RefreshTokens:
    def __init__(self, repository: RefreshTokenRepository, audit: AuditLog, ttl_seconds: int):
        self.repository = repository
        self.audit = audit
        self.ttl = timedelta(seconds=ttl_seconds)

    async def issue(
        self, *, family_id: uuid.UUID, client: ApiClient, user_id: uuid.UUID, scopes: list[str]
    ) -> str:
        token = "otog_rt_" + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        await self.repository.add(
            RefreshToken(
                id=uuid.uuid4(),
                token_hash=token_hash(token),
                family_id=family_id,
                client_id=client.id,
                user_id=user_id,
                scopes=scopes,
                expires_at=now + self.ttl,
            )
        )
        return token

    async def use(self, token: str, client: ApiClient) -> RefreshToken:
        """Spends ``token`` (locked until the commit) and returns it; its successor is
        issued by the caller in the same transaction."""
        now = datetime.now(UTC)
        row = await self.repository.get_for_update(token_hash(token))
        if row is None or row.client_id != client.id:
            raise InvalidGrant("The refresh token is not valid for this client.")
        if row.revoked_at is not None:
            raise InvalidGrant("The refresh token was revoked; sign in again.")
        if row.used_at is not None:
            await self.repository.revoke_family(row.family_id, now)
            await self.audit.record(
                "user.refresh_token_reused",
                "user",
                row.user_id,
                {"family_id": row.family_id, "client_id": client.client_id},
                actor=client.client_id,
                actor_person=f"user:{row.user_id}",
            )
            raise InvalidGrant(
                "The refresh token was used before: every token of this sign-in is now "
                "revoked. Sign in again.",
                keeps_changes=True,
            )
        if row.expires_at <= now:
            raise InvalidGrant("The refresh token has expired; sign in again.")
        row.used_at = now
        await self.repository.session.flush()
        return row

    async def revoke(self, token: str, client: ApiClient) -> bool:
        """RFC 7009: revokes the token's family when the token is this client's;
        anything else is quietly ignored (the endpoint answers 200 either way)."""
        row = await self.repository.get_for_update(token_hash(token))
        if row is None or row.client_id != client.id:
            return False
        count = await self.repository.revoke_family(row.family_id, datetime.now(UTC))
        if count:
            await self.audit.record(
                "user.signed_out",
                "user",
                row.user_id,
                {"family_id": row.family_id, "client_id": client.client_id},
                actor=client.client_id,
                actor_person=f"user:{row.user_id}",
            )
        return True

    async def revoke_family(self, family_id: uuid.UUID) -> None:
        await self.repository.revoke_family(family_id, datetime.now(UTC))
