"""A 503 (database unreachable) and an unexpected 500, in Thai and English, from the
shared app factory (bringing PostgreSQL down is tests/e2e's business)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import APIRouter, FastAPI
from otog_shared.app import create_app
from otog_shared.dbfaults import DatabaseUnreachable
from otog_shared.settings import ServiceSettings

from tests.support.stack import Databases

router = APIRouter(prefix="/v1/faults")


@router.get("/database")
async def database_down() -> None:
    raise DatabaseUnreachable("connection refused")


@router.get("/crash")
async def crash() -> None:
    raise RuntimeError("internal detail")


@pytest_asyncio.fixture(scope="module")
async def client(databases: Databases) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(
        ServiceSettings(database_url=databases.urls["training"], log_json=False),
        service="test",
        title="test",
        description="test",
        routers=[router],
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


async def test_database_unavailable_in_both_languages(client: httpx.AsyncClient) -> None:
    th = await client.get("/v1/faults/database", headers={"Accept-Language": "th"})
    en = await client.get("/v1/faults/database", headers={"Accept-Language": "en"})
    for r, language in ((th, "th"), (en, "en")):
        assert r.status_code == 503
        assert r.headers["content-language"] == language
        assert r.headers["retry-after"] == "1"
        assert r.json()["type"] == "/problems/database-unavailable"
    assert th.json()["title"] == "ระบบไม่พร้อมให้บริการชั่วคราว"
    assert th.json()["detail"].startswith("ฐานข้อมูลไม่พร้อมใช้งานชั่วคราว")
    assert en.json()["title"] == "Service Unavailable"
    assert en.json()["detail"].startswith("The database is unavailable")


async def test_unexpected_error_in_both_languages(client: httpx.AsyncClient) -> None:
    th = await client.get("/v1/faults/crash", headers={"Accept-Language": "th-TH"})
    assert th.status_code == 500 and th.headers["content-language"] == "th"
    assert th.json()["type"] == "/problems/internal-error"
    assert th.json()["title"] == "ระบบขัดข้อง"
    assert "request id" in th.json()["detail"] and "internal detail" not in th.text
    en = await client.get("/v1/faults/crash")
    assert en.status_code == 500 and en.headers["content-language"] == "en"
    assert en.json()["title"] == "Internal Server Error"
