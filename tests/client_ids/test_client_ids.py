"""Client-chosen ids on the creates of all three services, through the real gateway.

A representative create of each kind: the app sends it with an `id` of its own, gives
up before the answer comes (the server commits, the response is lost), sends it again
and gets the first answer, byte for byte, with one resource made. The same `id` with
other content, for another kind of resource, or from another client is one and the
same 409 `/problems/id-conflict` that says nothing about what holds the id. Creates
racing with one id make one row.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from otog_devstack.postgres import plain_url

from tests.conftest import Stack
from tests.loans.conftest import BANGKOK, THB, Auth, fund_body
from tests.registry.conftest import group_body, worker_body
from tests.support.faults import disbursed_loan
from tests.support.stack import Databases
from tests.support.tokens import TokenFactory
from tests.training.helpers import course_body, session_body

pytestmark = pytest.mark.e2e

VISIT = {
    "visited_on": "2025-04-10",
    "officer": "นายสมชาย ตรวจดี",
    "progress": "ผลิตได้ 200 ชิ้นต่อเดือน",
    "progress_percent": 60,
}
MARKET_LINK = {"partner": "commerce", "channel": "trade_fair", "occurred_on": "2025-03-15"}
# A province none of the test data is in.
ELSEWHERE = "50"


@dataclass
class Create:
    """A create as an app sends it, and the table its rows are counted in."""

    service: str
    table: str
    url: str
    body: dict[str, Any]
    other_body: dict[str, Any]
    headers: dict[str, str]
    # A client of another province with the same scopes.
    stranger: dict[str, str]
    # A repayment needs an Idempotency-Key: a fresh one on every send shows that the
    # id alone makes the re-send harmless.
    fresh_key: bool = False

    def send_headers(self, headers: dict[str, str] | None = None) -> dict[str, str]:
        key = {"Idempotency-Key": str(uuid.uuid4())} if self.fresh_key else {}
        return {**(headers or self.headers), **key}


@pytest_asyncio.fixture
async def gw(live_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_stack.gateway_url, timeout=30) as client:
        yield client


async def rows(databases: Databases, service: str, table: str) -> int:
    conn = await asyncpg.connect(plain_url(databases.live_urls[service]))
    try:
        # Table names come from this module's own calls, never from input.
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608
    finally:
        await conn.close()


def assert_id_conflict(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["type"] == "/problems/id-conflict"
    # Nothing about what holds the id: no resource, no owner, no field.
    assert set(problem) <= {"type", "title", "status", "detail", "instance", "request_id"}
    return {k: v for k, v in problem.items() if k not in ("request_id", "instance")}


async def assert_created_once(
    live_stack: Stack, gw: httpx.AsyncClient, databases: Databases, create: Create
) -> dict[str, Any]:
    """Lost answer, re-sent: one resource and the first answer. The same id with other
    content, or from a client of another province: the same 409, nothing more made."""
    before = await rows(databases, create.service, create.table)
    client_id = str(uuid.uuid4())
    body = {**create.body, "id": client_id}
    async with httpx.AsyncClient(
        base_url=live_stack.gateway_url, timeout=httpx.Timeout(10, read=0.0005)
    ) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            await impatient.post(create.url, json=body, headers=create.send_headers())
    # A re-send waits for the first request if it is still running, then gets its answer.
    first = await gw.post(create.url, json=body, headers=create.send_headers())
    assert first.status_code == 201, first.text
    assert first.json()["id"] == client_id
    again = await gw.post(create.url, json=body, headers=create.send_headers())
    assert again.status_code == 201
    assert again.content == first.content
    for header in ("location", "etag"):
        assert again.headers.get(header) == first.headers.get(header)
    assert await rows(databases, create.service, create.table) == before + 1

    other_content = assert_id_conflict(
        await gw.post(
            create.url, json={**create.other_body, "id": client_id}, headers=create.send_headers()
        )
    )
    stranger = assert_id_conflict(
        await gw.post(create.url, json=body, headers=create.send_headers(create.stranger))
    )
    assert stranger == other_content
    thai = await gw.post(
        create.url,
        json={**create.other_body, "id": client_id},
        headers={**create.send_headers(), "Accept-Language": "th"},
    )
    assert assert_id_conflict(thai)["title"] == "รหัสนี้ถูกใช้กับข้อมูลอื่นแล้ว"
    assert await rows(databases, create.service, create.table) == before + 1
    return dict(first.json())


@pytest.fixture
def registrar(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers("registry:read", "registry:write", "market:write")


async def test_registry_creates(
    live_stack: Stack,
    gw: httpx.AsyncClient,
    databases: Databases,
    tokens: TokenFactory,
    registrar: dict[str, str],
) -> None:
    stranger = tokens.headers(
        "registry:read", "registry:write", "market:write", province=ELSEWHERE, client_id="far"
    )
    group = await gw.post("/v1/groups", json=group_body(), headers=registrar)
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    for create in [
        Create(
            "registry", "workers", "/v1/workers", worker_body(), worker_body(), registrar, stranger
        ),
        Create(
            "registry",
            "groups",
            "/v1/groups",
            group_body(),
            group_body(name_th="กลุ่มจักสานบ้านย่านซื่อ"),
            registrar,
            stranger,
        ),
        Create(
            "registry",
            "field_visits",
            f"/v1/groups/{group_id}/visits",
            VISIT,
            {**VISIT, "progress_percent": 70},
            registrar,
            stranger,
        ),
        Create(
            "registry",
            "market_links",
            f"/v1/groups/{group_id}/market-links",
            MARKET_LINK,
            {**MARKET_LINK, "sales_satang": 4_520_000},
            registrar,
            stranger,
        ),
    ]:
        await assert_created_once(live_stack, gw, databases, create)


async def test_training_creates(
    live_stack: Stack,
    gw: httpx.AsyncClient,
    databases: Databases,
    tokens: TokenFactory,
    registrar: dict[str, str],
) -> None:
    trainer = tokens.headers("training:read", "training:write")
    stranger = tokens.headers(
        "training:read", "training:write", province=ELSEWHERE, client_id="far"
    )
    course = await assert_created_once(
        live_stack,
        gw,
        databases,
        Create(
            "training", "courses", "/v1/courses", course_body(), course_body(), trainer, stranger
        ),
    )
    session = await assert_created_once(
        live_stack,
        gw,
        databases,
        Create(
            "training",
            "training_sessions",
            "/v1/training-sessions",
            session_body(course["id"], capacity=5),
            session_body(course["id"], capacity=6),
            trainer,
            stranger,
        ),
    )
    workers = []
    for _ in range(2):
        r = await gw.post(
            "/v1/workers", json=worker_body(subdistrict_code=BANGKOK), headers=registrar
        )
        assert r.status_code == 201, r.text
        workers.append(r.json()["id"])
    await assert_created_once(
        live_stack,
        gw,
        databases,
        Create(
            "training",
            "enrollments",
            f"/v1/training-sessions/{session['id']}/enrollments",
            {"worker_id": workers[0]},
            {"worker_id": workers[1]},
            trainer,
            stranger,
        ),
    )


async def test_loan_ledger_creates(
    live_stack: Stack,
    gw: httpx.AsyncClient,
    databases: Databases,
    tokens: TokenFactory,
    registrar: dict[str, str],
) -> None:
    auth = Auth(tokens)
    officer = auth.officer()
    stranger = auth.officer(province=ELSEWHERE)
    # Funds are made nationally: the stranger there is another national office.
    elsewhere_office = tokens.headers(
        "loans:read", "loans:write", "loans:approve", client_id="another-office"
    )
    fund = await assert_created_once(
        live_stack,
        gw,
        databases,
        Create(
            "loan-ledger", "funds", "/v1/funds", fund_body(), fund_body(), officer, elsewhere_office
        ),
    )
    groups = []
    for _ in range(2):
        r = await gw.post(
            "/v1/groups", json=group_body(subdistrict_code=BANGKOK), headers=registrar
        )
        assert r.status_code == 201, r.text
        groups.append(r.json()["id"])

    def loan(group_id: str, principal: int = 50_000 * THB) -> dict[str, Any]:
        return {
            "fund_id": fund["id"],
            "group_id": group_id,
            "principal_satang": principal,
            "purpose": "Rice mill",
        }

    await assert_created_once(
        live_stack,
        gw,
        databases,
        Create(
            "loan-ledger",
            "loans",
            "/v1/loans",
            loan(groups[0]),
            loan(groups[0], 60_000 * THB),
            officer,
            stranger,
        ),
    )
    loan_id = await disbursed_loan(
        gw,
        fund["id"],
        officer=officer,
        registrar=registrar,
        group_name="กลุ่มทอผ้าไหมบ้านนา",
        occupation="textiles_weaving",
        purpose="Looms",
    )
    repayment = {"amount_satang": 1_000 * THB, "paid_on": "2025-02-15"}
    await assert_created_once(
        live_stack,
        gw,
        databases,
        Create(
            "loan-ledger",
            "repayments",
            f"/v1/loans/{loan_id}/repayments",
            repayment,
            {**repayment, "amount_satang": 2_000 * THB},
            officer,
            stranger,
            fresh_key=True,
        ),
    )


async def test_an_id_of_another_kind_or_made_by_the_server_is_a_conflict(
    gw: httpx.AsyncClient, databases: Databases, registrar: dict[str, str]
) -> None:
    group = await gw.post("/v1/groups", json=group_body(), headers=registrar)
    visits = f"/v1/groups/{group.json()['id']}/visits"
    visit_id = str(uuid.uuid4())
    made = await gw.post(visits, json={**VISIT, "id": visit_id}, headers=registrar)
    assert made.status_code == 201, made.text
    groups_before = await rows(databases, "registry", "groups")
    other_kind = assert_id_conflict(
        await gw.post("/v1/groups", json={**group_body(), "id": visit_id}, headers=registrar)
    )
    other_content = assert_id_conflict(
        await gw.post(
            visits, json={**VISIT, "progress_percent": 1, "id": visit_id}, headers=registrar
        )
    )
    assert other_kind == other_content
    # An id the server made (no row in created_resources) named again: the table's own
    # key refuses it, and that is the same 409, never a 500.
    server_made = group.json()["id"]
    assert_id_conflict(
        await gw.post("/v1/groups", json={**group_body(), "id": server_made}, headers=registrar)
    )
    assert await rows(databases, "registry", "groups") == groups_before

    # The same for a membership, whose table refuses rows by rules of its own too.
    members = f"/v1/groups/{group.json()['id']}/members"
    workers = []
    for _ in range(2):
        r = await gw.post("/v1/workers", json=worker_body(), headers=registrar)
        assert r.status_code == 201, r.text
        workers.append(r.json()["id"])
    member = await gw.post(members, json={"worker_id": workers[0]}, headers=registrar)
    assert member.status_code == 201, member.text
    assert_id_conflict(
        await gw.post(
            members,
            json={"worker_id": workers[1], "id": member.json()["id"]},
            headers=registrar,
        )
    )


@pytest.mark.parametrize("service", ["registry", "loan-ledger"])
async def test_concurrent_creates_with_one_id_make_one_row(
    gw: httpx.AsyncClient,
    databases: Databases,
    tokens: TokenFactory,
    registrar: dict[str, str],
    service: str,
) -> None:
    if service == "registry":
        table, url, headers = "groups", "/v1/groups", registrar
        bodies = [group_body()] * 6 + [group_body(name_th="กลุ่มอื่น")] * 2
    else:
        table, url, headers = "funds", "/v1/funds", Auth(tokens).officer()
        same = fund_body()
        bodies = [same] * 6 + [fund_body()] * 2
    client_id = str(uuid.uuid4())
    before = await rows(databases, service, table)
    answers = await asyncio.gather(
        *(gw.post(url, json={**body, "id": client_id}, headers=headers) for body in bodies)
    )
    created = [a for a in answers if a.status_code == 201]
    assert created and len({a.content for a in created}) == 1
    for answer in answers:
        if answer.status_code != 201:
            assert_id_conflict(answer)
    # The first to take the id decides its content: the rest agree or are refused.
    winner = created[0].json()
    assert len(created) in (6, 2)
    assert winner["id"] == client_id
    assert await rows(databases, service, table) == before + 1


async def test_a_server_made_id_named_again_is_a_conflict_in_every_service(
    gw: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    """Courses and funds turn their own unique violations into problems of their own
    (a taken code, a taken name): a taken id is still id-conflict there."""
    trainer = tokens.headers("training:read", "training:write")
    course = await gw.post("/v1/courses", json=course_body(), headers=trainer)
    assert course.status_code == 201, course.text
    assert_id_conflict(
        await gw.post(
            "/v1/courses", json={**course_body(), "id": course.json()["id"]}, headers=trainer
        )
    )
    officer = Auth(tokens).officer()
    fund = await gw.post("/v1/funds", json=fund_body(), headers=officer)
    assert fund.status_code == 201, fund.text
    assert_id_conflict(
        await gw.post("/v1/funds", json={**fund_body(), "id": fund.json()["id"]}, headers=officer)
    )
