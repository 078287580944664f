"""Officers: accounts, passwords and the password check of the sign-in page,
with its slow-down per account and per client address, and the lock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from otog_shared.auth import Principal, ensure_may_act_in, ensure_visible
from otog_shared.errors import Conflict, FieldError, Forbidden, NotFound, UnprocessableEntity
from sqlalchemy.exc import IntegrityError

from otog_registry.audit.service import AuditLog
from otog_registry.oauth.service import validate_scopes
from otog_registry.settings import RegistrySettings
from otog_registry.users.models import User
from otog_registry.users.passwords import Passwords
from otog_registry.users.repository import SignInAddressRepository, UserRepository
from otog_registry.users.schemas import UserOut

# Granted only to workers through the national digital ID, never to an account.
PERSONAL_SCOPES = frozenset({"self"})


class DuplicateUser(Conflict):
    slug, title = "duplicate-user", "Duplicate User"


@dataclass(frozen=True)
class SignInPolicy:
    delay_after: int
    max_delay_seconds: int
    lock_after: int
    lock_seconds: int
    address_delay_after: int
    address_window_seconds: int

    @classmethod
    def from_settings(cls, settings: RegistrySettings) -> SignInPolicy:
        return cls(
            delay_after=settings.signin_delay_after,
            max_delay_seconds=settings.signin_max_delay_seconds,
            lock_after=settings.signin_lock_after,
            lock_seconds=settings.signin_lock_seconds,
            address_delay_after=settings.signin_address_delay_after,
            address_window_seconds=settings.signin_address_window_seconds,
        )

    def delay(self, failures: int, threshold: int) -> timedelta | None:
        """How long the next attempt must wait after ``failures`` failures: nothing
        below the threshold, then 1, 2, 4 … seconds, capped."""
        if failures < threshold:
            return None
        return timedelta(seconds=min(2 ** (failures - threshold), self.max_delay_seconds))


class SignInResult(Enum):
    SIGNED_IN = "signed_in"
    INVALID = "invalid_credentials"
    WAIT = "wait"
    LOCKED = "locked"


@dataclass(frozen=True)
class SignInOutcome:
    result: SignInResult
    user: User | None = None
    # For WAIT and LOCKED: seconds until an attempt will be considered again.
    retry_after: int = 0


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        scopes=list(user.scopes),
        province=user.province_code,
        has_password=user.password_hash is not None,
        locked_until=user.locked_until,
        created_at=user.created_at,
    )


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999))


class UserService:
    def __init__(
        self,
        users: UserRepository,
        addresses: SignInAddressRepository,
        audit: AuditLog,
        passwords: Passwords,
        policy: SignInPolicy,
    ) -> None:
        self.users = users
        self.addresses = addresses
        self.audit = audit
        self.passwords = passwords
        self.policy = policy

    # --- accounts ------------------------------------------------------------

    async def create(
        self,
        principal: Principal | None,
        *,
        username: str,
        display_name: str,
        scopes: list[str],
        province: str | None,
        password: str | None = None,
    ) -> User:
        """``principal`` is None for the operator's command line (no token)."""
        if principal is not None:
            if principal.province is not None and province is None:
                raise Forbidden("A client bound to a province creates users of that province.")
            if province is not None:
                ensure_may_act_in(principal, province)
        personal = sorted(set(scopes) & PERSONAL_SCOPES)
        if personal:
            raise UnprocessableEntity(
                "These scopes are never given to an account.",
                errors=[
                    FieldError(field="scopes", message=f"{s!r} is not for users") for s in personal
                ],
            )
        granted = validate_scopes(scopes)
        password_hash = await self.passwords.hash(password) if password is not None else None
        user = User(
            id=uuid.uuid4(),
            username=username.lower(),
            display_name=display_name,
            password_hash=password_hash,
            scopes=granted,
            province_code=province,
        )
        try:
            async with self.users.session.begin_nested():
                await self.users.add(user)
        except IntegrityError as exc:
            raise DuplicateUser(f"The username {username.lower()!r} is taken.") from exc
        await self.users.session.refresh(user)
        await self.audit.record(
            "user.created",
            "user",
            user.id,
            {
                "username": user.username,
                "display_name": display_name,
                "scopes": granted,
                "province": province,
                "password_set": password is not None,
            },
            province_code=province,
        )
        return user

    async def get(self, principal: Principal, username: str) -> User:
        user = await self.users.get_by_username(username)
        if user is None:
            raise NotFound("User not found.")
        ensure_visible(principal, user.province_code, "User")
        return user

    async def set_password(
        self, principal: Principal | None, user_id: uuid.UUID, password: str
    ) -> None:
        user = await self.users.get(user_id)
        if user is None or (
            principal is not None and not principal.sees_province(user.province_code)
        ):
            raise NotFound("User not found.")
        await self.users.set_password_hash(user.id, await self.passwords.hash(password))
        # Only the fact: never the password or its hash.
        await self.audit.record(
            "user.password_set", "user", user.id, {}, province_code=user.province_code
        )

    async def get_by_username(self, username: str) -> User | None:
        return await self.users.get_by_username(username)

    # --- the sign-in page's password check -----------------------------------

    async def sign_in(
        self, username: str, password: str, *, address: str, app_client_id: str
    ) -> SignInOutcome:
        """Checks a password and applies the slow-down and the lock. Failures are
        outcomes, not exceptions: their counters and audit events must be committed."""
        now = datetime.now(UTC)
        place = await self.addresses.get(address)
        if place is not None and place.next_attempt_at is not None and place.next_attempt_at > now:
            await self._refused(None, "address_throttled", address, app_client_id)
            return SignInOutcome(
                SignInResult.WAIT, retry_after=_seconds_until(place.next_attempt_at, now)
            )

        # The row lock orders concurrent attempts on one account, so none escapes a count.
        user = await self.users.get_by_username(username.strip(), for_update=True)
        if user is not None and user.locked_until is not None and user.locked_until > now:
            await self._refused(user, "locked", address, app_client_id)
            return SignInOutcome(
                SignInResult.LOCKED, user, retry_after=_seconds_until(user.locked_until, now)
            )
        if user is not None and user.next_attempt_at is not None and user.next_attempt_at > now:
            await self._refused(user, "account_throttled", address, app_client_id)
            return SignInOutcome(
                SignInResult.WAIT, user, retry_after=_seconds_until(user.next_attempt_at, now)
            )

        usable = user is not None and user.disabled_at is None
        stored = user.password_hash if user is not None and usable else None
        if await self.passwords.verify(stored, password):
            assert user is not None
            user.failed_attempts = 0
            user.next_attempt_at = None
            user.locked_until = None
            if user.password_hash and self.passwords.needs_rehash(user.password_hash):
                user.password_hash = await self.passwords.hash(password)
            await self.users.session.flush()
            await self.audit.record(
                "user.signed_in",
                "user",
                user.id,
                {"client_address": address},
                province_code=user.province_code,
                actor=app_client_id,
                actor_person=f"user:{user.id}",
            )
            return SignInOutcome(SignInResult.SIGNED_IN, user)

        await self._count_address_failure(address, now)
        if user is None:
            await self._refused(None, "unknown_user", address, app_client_id)
            return SignInOutcome(SignInResult.INVALID)
        user.failed_attempts += 1
        if not usable:
            reason = "disabled"
        elif stored is None:
            reason = "no_password"
        else:
            reason = "wrong_password"
        if user.failed_attempts >= self.policy.lock_after:
            user.locked_until = now + timedelta(seconds=self.policy.lock_seconds)
            user.failed_attempts = 0
            user.next_attempt_at = None
            await self.users.session.flush()
            await self._refused(user, reason, address, app_client_id)
            await self.audit.record(
                "user.locked",
                "user",
                user.id,
                {"until": user.locked_until, "client_address": address},
                province_code=user.province_code,
                actor=app_client_id,
                actor_person=f"user:{user.id}",
            )
            return SignInOutcome(SignInResult.LOCKED, user, retry_after=self.policy.lock_seconds)
        wait = self.policy.delay(user.failed_attempts, self.policy.delay_after)
        user.next_attempt_at = now + wait if wait else None
        await self.users.session.flush()
        await self._refused(user, reason, address, app_client_id)
        return SignInOutcome(SignInResult.INVALID, user)

    async def _count_address_failure(self, address: str, now: datetime) -> None:
        window = timedelta(seconds=self.policy.address_window_seconds)
        failures = await self.addresses.record_failure(address, now, now - window)
        wait = self.policy.delay(failures, self.policy.address_delay_after)
        await self.addresses.set_next_attempt(address, now + wait if wait else None)

    async def _refused(
        self, user: User | None, reason: str, address: str, app_client_id: str
    ) -> None:
        await self.audit.record(
            "user.sign_in_failed",
            "user",
            user.id if user else None,
            {"reason": reason, "client_address": address},
            province_code=user.province_code if user else None,
            actor=app_client_id,
            actor_person=f"user:{user.id}" if user else None,
        )
