"""`make run demo=1`: the registry's demo data loads, reads back, and reloads as a no-op."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from otog_registry.demo import GROUPS, load_demo
from otog_registry.groups.models import Group
from otog_registry.workers.models import Worker
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def test_demo_loads_once(
    registry_session: tuple[httpx.AsyncClient, AsyncSession],
    data_dir: Path,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, session = registry_session
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(data_dir))
    await load_demo(session)
    await session.flush()
    groups = await session.scalar(select(func.count()).select_from(Group))
    workers = await session.scalar(select(func.count()).select_from(Worker))
    await load_demo(session)
    await session.flush()
    assert await session.scalar(select(func.count()).select_from(Group)) == groups
    assert await session.scalar(select(func.count()).select_from(Worker)) == workers

    r = await client.get("/v1/groups", params={"subdistrict": "150114"}, headers=admin)
    [wreaths] = [g for g in r.json()["items"] if g["name_th"] == GROUPS[0].name_th]
    assert wreaths["status"] == "product_development"
    members = (await client.get(f"/v1/groups/{wreaths['id']}/members", headers=admin)).json()
    assert [m["role"] for m in members["items"]] == ["leader", "member", "member"]
    worker = await client.get(f"/v1/workers/{members['items'][0]['worker_id']}", headers=admin)
    assert worker.status_code == 200 and len(worker.json()["national_id"]) == 13
    catalog = (await client.get("/v1/catalog/products", params={"province": "15"})).json()
    assert any(p["certifications"] for p in catalog["items"])
