"""Against real registry processes on a committing database: races and dumps."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from pathlib import Path

import asyncpg
import httpx
from otog_devstack.postgres import bin_path, plain_url
from otog_devstack.processes import ServiceProcess

from tests.registry.conftest import (
    KO_TAN,
    YAN_SUE,
    assert_problem,
    create_group,
    create_worker,
    make_national_id,
)
from tests.support.stack import Databases
from tests.support.tokens import TokenFactory


async def test_one_prototype_wins_a_race(live: httpx.AsyncClient, tokens: TokenFactory) -> None:
    writer = tokens.headers("registry:read", "registry:write", client_id="race")
    # The live database is shared with other suites (the API fuzzer uses the documented
    # examples: Yan Sue, FY2568), so this race runs on a place and year of its own.
    ko_tao, fiscal_year = "840503", 2500 + secrets.randbelow(60)
    groups = [
        await create_group(live, writer, name_th=f"กลุ่มที่ {i}", subdistrict_code=ko_tao)
        for i in range(8)
    ]
    elsewhere = await create_group(live, writer, subdistrict_code=KO_TAN)

    async def claim(group_id: str) -> httpx.Response:
        return await live.post(
            f"/v1/groups/{group_id}/stage-changes",
            json={"stage": "prototype", "fiscal_year": fiscal_year},
            headers=writer,
        )

    results = await asyncio.gather(*(claim(g["id"]) for g in [*groups, elsewhere]))
    statuses = sorted(r.status_code for r in results[:-1])
    assert statuses == [201] + [409] * 7, [r.text for r in results]
    for r in results[:-1]:
        if r.status_code == 409:
            assert_problem(r, 409, "prototype-taken")
    assert results[-1].status_code == 201

    winners = []
    for g in groups:
        status = (await live.get(f"/v1/groups/{g['id']}", headers=writer)).json()["status"]
        if status == "prototype":
            winners.append(g["id"])
        else:
            assert status == "registered"
    assert len(winners) == 1


async def test_database_dump_has_no_national_id_in_clear(
    live: httpx.AsyncClient,
    tokens: TokenFactory,
    databases: Databases,
    registry_workers: ServiceProcess,
    log_dir: Path,
) -> None:
    writer = tokens.headers("registry:read", "registry:write", "pii:read", client_id="dump-test")
    ids = [make_national_id() for _ in range(5)]
    for nid in ids:
        await create_worker(live, writer, national_id=nid)
    r = await live.post("/v1/workers/search", json={"national_id": ids[0]}, headers=writer)
    assert r.json()["national_id"] == ids[0]
    # A duplicate and an invalid one go through the error paths too.
    assert_problem(
        await live.post("/v1/workers", json={"national_id": ids[1]}, headers=writer), 422
    )

    url = plain_url(databases.live_urls["registry"])
    conn = await asyncpg.connect(url)
    try:
        stored = await conn.fetchval("SELECT count(*) FROM workers WHERE created_by = 'dump-test'")
    finally:
        await conn.close()
    assert stored == 5

    dump = subprocess.run(
        [str(bin_path("pg_dump")), "--data-only", "--no-owner", url],
        check=True,
        capture_output=True,
    ).stdout
    assert b"COPY public.workers" in dump
    assert "ย่านซื่อ".encode() in dump  # the dump is real and readable
    for nid in ids:
        dashed = f"{nid[0]}-{nid[1:5]}-{nid[5:10]}-{nid[10:12]}-{nid[12]}"
        assert nid.encode() not in dump and dashed.encode() not in dump
        # Nor in the service's logs.
        for log in log_dir.glob("registry-*.log"):
            assert nid not in log.read_text(errors="replace")


async def test_workers_and_groups_served_to_other_services(
    live: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    writer = tokens.headers("registry:read", "registry:write")
    service = tokens.headers("registry:read", client_id="loan-ledger")
    worker = await create_worker(live, writer, subdistrict_code=YAN_SUE)
    group = await create_group(live, writer)
    w = (await live.get(f"/v1/workers/{worker['id']}", headers=service)).json()
    assert {
        "id",
        "national_id_masked",
        "first_name_th",
        "last_name_th",
        "subdistrict_code",
        "district_code",
        "province_code",
        "birth_date",
    } <= set(w)
    g = (await live.get(f"/v1/groups/{group['id']}", headers=service)).json()
    assert g["status"] == "registered" and g["province_code"] == "15"


async def test_one_leader_wins_a_race(live: httpx.AsyncClient, tokens: TokenFactory) -> None:
    writer = tokens.headers("registry:read", "registry:write")
    group = await create_group(live, writer)
    workers = [await create_worker(live, writer) for _ in range(6)]
    results = await asyncio.gather(
        *(
            live.post(
                f"/v1/groups/{group['id']}/members",
                json={"worker_id": w["id"], "role": "leader"},
                headers=writer,
            )
            for w in workers
        )
    )
    assert sorted(r.status_code for r in results) == [201] + [409] * 5
    members = (await live.get(f"/v1/groups/{group['id']}/members", headers=writer)).json()
    assert [m["role"] for m in members["items"]] == ["leader"]


async def test_market_link_retries_at_once_record_once(
    live: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    writer = tokens.headers("registry:read", "registry:write")
    commerce = tokens.headers("market:write", "registry:read", client_id="commerce-live")
    group = await create_group(live, writer)
    link = {
        "partner": "commerce",
        "channel": "ecommerce",
        "occurred_on": "2025-01-05",
        "sales_satang": 990_000,
    }
    key = f"retry-{group['id']}"
    results = await asyncio.gather(
        *(
            live.post(
                f"/v1/groups/{group['id']}/market-links",
                json=link,
                headers={**commerce, "Idempotency-Key": key},
            )
            for _ in range(5)
        )
    )
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["id"] for r in results}) == 1
    summary = (
        await live.get(f"/v1/groups/{group['id']}/market-links/summary", headers=commerce)
    ).json()
    assert summary["links"] == 1 and summary["sales_satang"] == 990_000


async def test_same_person_registered_at_once_is_created_once(
    live: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    writer = tokens.headers("registry:read", "registry:write")
    nid = make_national_id()
    results = await asyncio.gather(
        *(
            live.post(
                "/v1/workers",
                json={
                    "national_id": nid,
                    "first_name_th": f"คนที่ {i}",
                    "last_name_th": "เดียวกัน",
                    "birth_date": "1980-01-01",
                    "subdistrict_code": YAN_SUE,
                },
                headers=writer,
            )
            for i in range(6)
        )
    )
    assert sorted(r.status_code for r in results) == [201] + [409] * 5
    winner = next(r.json()["id"] for r in results if r.status_code == 201)
    assert {r.json()["worker_id"] for r in results if r.status_code == 409} == {winner}
