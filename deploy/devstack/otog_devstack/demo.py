"""`make run demo=1`: each service seeds its own demo data through its service layer.

The registry goes first; what the others' data refers to (the demo groups, the
workers who book seats) is read back from it and handed to them, as their own
services would learn it from the registry's API. Then the programme console's app
client and demo officers are registered and printed."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from otog_shared.db import create_sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from otog_devstack.stack import Layout, say

T = TypeVar("T")


async def _in_session(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with create_sessionmaker(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def console_redirect_uri(gateway_port: int) -> str:
    return f"http://127.0.0.1:{gateway_port}/console/"


async def _registry(url: str, gateway_port: int) -> tuple[dict[str, Any], dict[str, Any]]:
    from otog_registry import demo

    async def work(session: AsyncSession) -> tuple[dict[str, Any], dict[str, Any]]:
        await demo.load_demo(session)
        await demo.load_console_demo(session)
        access = await demo.load_console_access(session, [console_redirect_uri(gateway_port)])
        return await demo.demo_manifest(session), access

    return await _in_session(url, work)


async def _training(url: str, manifest: dict[str, Any]) -> None:
    from otog_training import demo

    async def work(session: AsyncSession) -> None:
        await demo.load_console_demo(session, manifest["trainees"])

    await _in_session(url, work)


async def _loans(url: str, manifest: dict[str, Any]) -> None:
    from otog_loan_ledger import demo

    async def work(session: AsyncSession) -> None:
        await demo.load_console_demo(session, manifest["groups"])

    await _in_session(url, work)


def load_demo(
    urls: dict[str, str], layout: Layout | None = None, gateway_port: int | None = None
) -> None:
    port = gateway_port or int(os.environ.get("GATEWAY_PORT", "8080"))
    manifest, access = asyncio.run(_registry(urls["registry"], port))
    say("  demo data loaded: registry")
    asyncio.run(_training(urls["training"], manifest))
    say("  demo data loaded: training")
    asyncio.run(_loans(urls["loan-ledger"], manifest))
    say("  demo data loaded: loan-ledger")
    redirects = ", ".join(access["redirect_uris"])
    say(f"  console app  client_id {access['client_id']}, redirect {redirects}")
    for officer in access["officers"]:
        where = f"province {officer['province']}" if officer["province"] else "national"
        say(f"  officer      {officer['username']} / {officer['password']} ({where})")
