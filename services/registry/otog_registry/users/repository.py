from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, case, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.users.models import SignInAddress, User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_username(self, username: str, *, for_update: bool = False) -> User | None:
        stmt = select(User).where(User.username == username.lower())
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def set_password_hash(self, user_id: uuid.UUID, password_hash: str) -> None:
        await self.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(
                password_hash=password_hash,
                failed_attempts=0,
                next_attempt_at=None,
                locked_until=None,
            )
        )


class SignInAddressRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, address: str) -> SignInAddress | None:
        return await self.session.get(SignInAddress, address)

    async def record_failure(
        self, address: str, now: datetime, window_start_before: datetime
    ) -> int:
        """Counts a failure from ``address`` (a new window when the old one began before
        ``window_start_before``) in one statement, so concurrent failures all count;
        returns the failures in the current window."""
        new_window = SignInAddress.window_started_at < window_start_before
        insert_row = insert(SignInAddress).values(
            address=address, failures=1, window_started_at=now
        )
        stmt = insert_row.on_conflict_do_update(
            index_elements=[SignInAddress.address],
            set_={
                "failures": case((new_window, 1), else_=SignInAddress.failures + 1),
                "window_started_at": case(
                    (new_window, literal(now, DateTime(timezone=True))),
                    else_=SignInAddress.window_started_at,
                ),
            },
        ).returning(SignInAddress.failures)
        return int((await self.session.execute(stmt)).scalar_one())

    async def set_next_attempt(self, address: str, at: datetime | None) -> None:
        await self.session.execute(
            update(SignInAddress).where(SignInAddress.address == address).values(next_attempt_at=at)
        )
