"""Fixtures and helpers for the registry's tests."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
from otog_devstack.processes import ServiceProcess

from tests.support.tokens import TokenFactory

# Places named in the programme's announcements.
YAN_SUE = "150114"  # ย่านซื่อ, Mueang Ang Thong, Ang Thong
KO_TAN = "620413"  # เกาะตาล, Khanu Woralaksaburi, Kamphaeng Phet
CHANG_KLANG_DISTRICT = "8022"  # ช้างกลาง, Nakhon Si Thammarat

_rng = random.Random()
# Unique within a test run (the live database lives as long as the run).
_serial = itertools.count(_rng.randrange(10**9))


def check_digit(first_twelve: str) -> str:
    total = sum(int(d) * (13 - i) for i, d in enumerate(first_twelve))
    return str((11 - total % 11) % 10)


def make_national_id() -> str:
    """A valid 13-digit national ID, never the same twice in a run."""
    head = str(_rng.randint(1, 8))
    twelve = head + f"{next(_serial):011d}"
    return twelve + check_digit(twelve)


def wrong_check_digit(nid: str) -> str:
    return nid[:12] + str((int(nid[12]) + 1) % 10)


def worker_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "national_id": make_national_id(),
        "first_name_th": "สมศรี",
        "last_name_th": "ใจดี",
        "birth_date": "1985-04-12",
        "subdistrict_code": YAN_SUE,
    }
    body.update(overrides)
    return body


def group_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name_th": "กลุ่มดอกไม้จันทน์และพวงหรีดย่านซื่อ",
        "name_en": "Yan Sue wreath group",
        "subdistrict_code": YAN_SUE,
        "occupation": "flowers_wreaths",
    }
    body.update(overrides)
    return body


def assert_problem(
    response: httpx.Response, status: int, slug: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if slug:
        assert body["type"] == f"/problems/{slug}", body
    return body


@pytest.fixture
def admin(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers("admin", client_id="admin-client")


@pytest.fixture
def writer(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers("registry:read", "registry:write", client_id="labour-office")


@pytest.fixture
def reader(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers("registry:read", client_id="partner-reader")


@pytest.fixture
def ang_thong_writer(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers(
        "registry:read", "registry:write", province="15", client_id="ang-thong-office"
    )


@pytest.fixture
def phayao_writer(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers("registry:read", "registry:write", province="56", client_id="phayao")


async def create_worker(
    client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    r = await client.post("/v1/workers", json=worker_body(**overrides), headers=headers)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


async def create_group(
    client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    r = await client.post("/v1/groups", json=group_body(**overrides), headers=headers)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


@pytest.fixture(scope="session")
def registry_workers(service_processes: Callable[..., ServiceProcess]) -> ServiceProcess:
    """A real registry with two worker processes on the committing database,
    so that concurrent requests really run in parallel."""
    return service_processes("registry", workers=2)


@pytest_asyncio.fixture
async def live(registry_workers: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client on the two-worker registry. The database is shared with other
    live tests and not emptied: tests make their own data (fresh national IDs,
    new groups) and look only at that."""
    async with httpx.AsyncClient(base_url=registry_workers.base_url, timeout=60) as client:
        yield client
