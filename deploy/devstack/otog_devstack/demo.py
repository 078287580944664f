"""`make run demo=1`: each service seeds its own demo data through its service layer."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

from otog_shared.db import create_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine

from otog_devstack.stack import SERVICES, Layout, say


async def _load(package: str, url: str) -> bool:
    try:
        module: Any = importlib.import_module(f"{package}.demo")
    except ModuleNotFoundError:
        return False
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with create_sessionmaker(engine)() as session:
            await module.load_demo(session)
            await session.commit()
    finally:
        await engine.dispose()
    return True


def load_demo(urls: dict[str, str], layout: Layout) -> None:
    for spec in SERVICES:
        if asyncio.run(_load(spec.package, urls[spec.name])):
            say(f"  demo data loaded: {spec.name}")
