"""`make run demo=1`: each service seeds its own demo data through its service layer.

The registry goes first; what the others' data refers to (the demo groups, the
workers who book seats) is read back from it and handed to them, as their own
services would learn it from the registry's API. Then the programme console's app
client and demo officers are registered and printed."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from otog_shared.db import create_sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from otog_devstack.stack import Layout, say


def console_redirect_uri(gateway_port: int) -> str:
    return f"http://127.0.0.1:{gateway_port}/console/"


async def load_registry(
    session: AsyncSession, gateway_port: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The registry's demo data and the console's access; returns what the other
    services' demo data refers to, and the console's client and officers."""
    from otog_registry import demo

    await demo.load_demo(session)
    await demo.load_console_demo(session)
    access = await demo.load_console_access(session, [console_redirect_uri(gateway_port)])
    return await demo.demo_manifest(session), access


async def load_training(session: AsyncSession, manifest: dict[str, Any]) -> None:
    from otog_training import demo

    await demo.load_console_demo(session, manifest["trainees"])


async def load_loans(session: AsyncSession, manifest: dict[str, Any]) -> None:
    from otog_loan_ledger import demo

    await demo.load_console_demo(session, manifest["groups"])


@contextlib.asynccontextmanager
async def _committing(url: str) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
            await session.commit()
    finally:
        await engine.dispose()


async def _load_all(urls: dict[str, str], gateway_port: int) -> dict[str, Any]:
    async with _committing(urls["registry"]) as session:
        manifest, access = await load_registry(session, gateway_port)
    say("  demo data loaded: registry")
    async with _committing(urls["training"]) as session:
        await load_training(session, manifest)
    say("  demo data loaded: training")
    async with _committing(urls["loan-ledger"]) as session:
        await load_loans(session, manifest)
    say("  demo data loaded: loan-ledger")
    return access


def load_demo(
    urls: dict[str, str], layout: Layout | None = None, gateway_port: int | None = None
) -> None:
    port = gateway_port or int(os.environ.get("GATEWAY_PORT", "8080"))
    access = asyncio.run(_load_all(urls, port))
    redirects = ", ".join(access["redirect_uris"])
    say(f"  console app  client_id {access['client_id']}, redirect {redirects}")
    for officer in access["officers"]:
        where = f"province {officer['province']}" if officer["province"] else "national"
        say(f"  officer      {officer['username']} / {officer['password']} ({where})")


async def _register_console(url: str, gateway_port: int) -> None:
    from otog_registry import demo

    async with _committing(url) as session:
        await demo.register_console_client(session, [console_redirect_uri(gateway_port)])


def register_console(urls: dict[str, str], gateway_port: int) -> None:
    """The console is part of every `make run`, so its app client is registered on
    every start (demo data or not); officers sign in with accounts from `make user`."""
    asyncio.run(_register_console(urls["registry"], gateway_port))
