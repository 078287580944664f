"""Every service's migrations upgrade from empty, downgrade to base, and upgrade again."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from otog_devstack.postgres import asyncpg_url, ensure_databases, plain_url, with_database
from otog_devstack.stack import SERVICES
from otog_shared.migrations import downgrade, upgrade


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


@pytest.mark.parametrize("spec", SERVICES, ids=[s.name for s in SERVICES])
def test_upgrade_downgrade_upgrade(pg_server_url: str, spec: object) -> None:
    from otog_devstack.stack import ServiceSpec

    assert isinstance(spec, ServiceSpec)
    name = f"test_migrate_{spec.database}"
    ensure_databases(pg_server_url, [name], recreate=True)
    url = asyncpg_url(with_database(pg_server_url, name))

    upgrade(spec.package, url)
    after_upgrade = asyncio.run(_tables(url))
    assert "alembic_version" in after_upgrade

    downgrade(spec.package, url, "base")
    assert asyncio.run(_tables(url)) <= {"alembic_version"}

    upgrade(spec.package, url)
    assert asyncio.run(_tables(url)) == after_upgrade
