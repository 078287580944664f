"""Operator commands: ``python -m otog_registry.cli create-client --name … --scopes …``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from otog_shared.db import create_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine

from otog_registry.oauth.repository import ApiClientRepository
from otog_registry.oauth.service import ClientService
from otog_registry.settings import RegistrySettings


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
