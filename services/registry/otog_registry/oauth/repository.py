from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.oauth.models import ApiClient, AuthorizationCode, RefreshToken


class ApiClientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_client_id(self, client_id: str) -> ApiClient | None:
        result = await self.session.execute(
            select(ApiClient).where(ApiClient.client_id == client_id)
        )
        return result.scalar_one_or_none()

    async def add(self, client: ApiClient) -> ApiClient:
        self.session.add(client)
        await self.session.flush()
        return client


class AuthorizationCodeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, code: AuthorizationCode) -> None:
        self.session.add(code)
        await self.session.flush()

    async def spend(self, code_hash: str, now: datetime) -> AuthorizationCode | None:
        """Marks the code used and returns it, or None when it is unknown or was
        used already: one statement, so two exchanges at once cannot both win."""
        result = await self.session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.code_hash == code_hash, AuthorizationCode.used_at.is_(None))
            .values(used_at=now)
            .returning(AuthorizationCode)
        )
        return result.scalar_one_or_none()

    async def get(self, code_hash: str) -> AuthorizationCode | None:
        return await self.session.get(AuthorizationCode, code_hash)


class RefreshTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token: RefreshToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def get_for_update(self, token_hash: str) -> RefreshToken | None:
        result = await self.session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        )
        return result.scalar_one_or_none()

    async def revoke_family(self, family_id: uuid.UUID, now: datetime) -> int:
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)
