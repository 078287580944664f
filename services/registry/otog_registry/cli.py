"""Operator commands: ``python -m otog_registry.cli create-client --name … --scopes …``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from otog_shared.db import create_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine

from otog_registry.audit.service import AuditLog
from otog_registry.oauth.repository import ApiClientRepository
from otog_registry.oauth.service import ClientService
from otog_registry.settings import RegistrySettings
from otog_registry.users.passwords import Passwords
from otog_registry.users.repository import SignInAddressRepository, UserRepository
from otog_registry.users.service import SignInPolicy, UserService, user_out


async def _create(url: str, name: str, scopes: list[str], province: str | None) -> dict[str, Any]:
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with create_sessionmaker(engine)() as session:
            creds = await ClientService(ApiClientRepository(session)).create(
                name=name, scopes=scopes, province=province
            )
            await session.commit()
    finally:
        await engine.dispose()
    return creds.model_dump()


def create_client_in(
    url: str, *, name: str, scopes: list[str], province: str | None
) -> dict[str, Any]:
    return asyncio.run(_create(url, name, scopes, province))


async def _create_user(
    url: str,
    *,
    username: str,
    password: str,
    display_name: str,
    scopes: list[str],
    province: str | None,
) -> dict[str, Any]:
    settings = RegistrySettings(database_url=url)
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        concurrency=1,
    )
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with create_sessionmaker(engine)() as session:
            service = UserService(
                UserRepository(session),
                SignInAddressRepository(session),
                AuditLog(session),
                passwords,
                SignInPolicy.from_settings(settings),
            )
            existing = await service.get_by_username(username)
            if existing is None:
                user = await service.create(
                    None,
                    username=username,
                    display_name=display_name,
                    scopes=scopes,
                    province=province,
                    password=password,
                )
            else:
                # Running it again for the same username resets the password.
                await service.set_password(None, existing.id, password)
                await session.refresh(existing)
                user = existing
            out = user_out(user)
            await session.commit()
    finally:
        await engine.dispose()
    return out.model_dump(mode="json")


def create_user_in(
    url: str,
    *,
    username: str,
    password: str,
    scopes: list[str],
    province: str | None,
    display_name: str | None = None,
) -> dict[str, Any]:
    return asyncio.run(
        _create_user(
            url,
            username=username,
            password=password,
            display_name=display_name or username,
            scopes=scopes,
            province=province,
        )
    )


async def _create_app(
    url: str, name: str, redirect_uris: list[str], scopes: list[str]
) -> dict[str, Any]:
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with create_sessionmaker(engine)() as session:
            app = await ClientService(ApiClientRepository(session)).create_app(
                name=name, redirect_uris=redirect_uris, scopes=scopes
            )
            await session.commit()
    finally:
        await engine.dispose()
    return app.model_dump()


def create_app_client_in(
    url: str, *, name: str, redirect_uris: list[str], scopes: list[str]
) -> dict[str, Any]:
    return asyncio.run(_create_app(url, name, redirect_uris, scopes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="otog_registry.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-client")
    create.add_argument("--name", required=True)
    create.add_argument("--scopes", default="")
    create.add_argument("--province", default=None)
    args = parser.parse_args(argv)
    settings = RegistrySettings()
    result = create_client_in(
        settings.database_url, name=args.name, scopes=args.scopes.split(), province=args.province
    )
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
