"""Officers' accounts (scope `admin`): field officers, provincial loan officers and
labour volunteers who sign in through an app with a username and password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.idempotency.http import IdempotentRoute

from otog_registry.audit.service import AuditLog
from otog_registry.deps import Admin
from otog_registry.settings import RegistrySettings
from otog_registry.users.repository import SignInAddressRepository, UserRepository
from otog_registry.users.schemas import USERNAME_PATTERN, PasswordSet, UserCreate, UserOut
from otog_registry.users.service import SignInPolicy, UserService, user_out

router = APIRouter(route_class=IdempotentRoute, prefix="/v1/users", tags=["users"])


async def user_service(request: Request, session: DbSession) -> UserService:
    settings: RegistrySettings = request.app.state.settings
    return UserService(
        UserRepository(session),
        SignInAddressRepository(session),
        AuditLog(session),
        request.app.state.passwords,
        SignInPolicy.from_settings(settings),
    )


Users = Annotated[UserService, Depends(user_service)]
# Accounts are named by username: what administrators know and type.
Username = Annotated[str, Path(pattern=USERNAME_PATTERN, examples=["somchai.k"])]


@router.post(
    "",
    status_code=201,
    summary="Create a user (an officer)",
    response_model=UserOut,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_user(body: UserCreate, principal: Admin, users: Users) -> UserOut:
    """Creates an account without a password; set it with `PUT /v1/users/{username}/password`
    or `make user`. Tokens from its sign-ins carry its scopes (narrowed by the app's and
    those asked for) and its province."""
    user = await users.create(
        principal,
        username=body.username,
        display_name=body.display_name,
        scopes=body.scopes,
        province=body.province,
    )
    return user_out(user)


@router.get(
    "/{username}",
    summary="Get a user",
    response_model=UserOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_user(username: Username, principal: Admin, users: Users) -> UserOut:
    """The account: scopes, province, whether a password is set, until when it is locked."""
    return user_out(await users.get(principal, username))


@router.put(
    "/{username}/password",
    status_code=204,
    summary="Set a user's password",
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
async def set_password(
    username: Username, body: PasswordSet, principal: Admin, users: Users
) -> Response:
    """Sets (or resets) the password and clears any lock. The audit trail records
    that it changed, never the password."""
    user = await users.get(principal, username)
    await users.set_password(principal, user.id, body.password)
    return Response(status_code=204)
