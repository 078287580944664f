"""Bulk CSV import: streaming, per-line report, duplicates, idempotent re-sends."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
from otog_registry.ids import new_id
from otog_registry.pii.crypto import NationalIdProtector, PiiKeys
from otog_registry.workers.importer import RecordSplitter
from otog_registry.workers.repository import WorkerRepository
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from tests.registry.conftest import (
    KO_TAN,
    YAN_SUE,
    assert_problem,
    create_worker,
    make_national_id,
    wrong_check_digit,
)
from tests.support.stack import Databases
from tests.support.tokens import TokenFactory

HEADER = "national_id,first_name_th,last_name_th,birth_date,subdistrict_code"
CSV = {"Content-Type": "text/csv; charset=utf-8"}


def rows(n: int, subdistrict: str = YAN_SUE) -> list[str]:
    return [
        f"{make_national_id()},สมชาย{i},ใจดี,1980-01-{i % 28 + 1:02d},{subdistrict}"
        for i in range(n)
    ]


async def post_csv(
    client: httpx.AsyncClient, headers: dict[str, str], content: bytes | AsyncIterator[bytes]
) -> httpx.Response:
    return await client.post("/v1/workers/import", content=content, headers={**headers, **CSV})


async def test_good_bad_and_duplicate_rows(
    registry: httpx.AsyncClient, writer: dict[str, str], tokens: TokenFactory
) -> None:
    existing = make_national_id()
    await create_worker(registry, writer, national_id=existing)
    good = make_national_id()
    bad_check = wrong_check_digit(make_national_id())
    lines = [
        HEADER + ",phone,social_security,first_name_en",
        f'{good},สมหญิง,"รักดี, จริงใจ",1990-05-01,{KO_TAN},081-111-2222,section_40,Somying',
        f"{existing},ซ้ำ,คน,1970-01-01,{YAN_SUE},,,",  # registered before
        f"{bad_check},ผิด,เลข,1970-01-01,{YAN_SUE},,,",
        f"{make_national_id()},ไม่มี,ตำบล,1970-01-01,999999,,,",
        f"{make_national_id()},,ว่าง,1970-01-01,{YAN_SUE},,,",
        f"{make_national_id()},วัน,ผิด,1970-13-01,{YAN_SUE},,,",
        f"{make_national_id()},สั้น,{YAN_SUE}",
        "",  # blank lines are skipped
        f"{good},ซ้ำ,ในไฟล์,1990-05-01,{KO_TAN},,,",  # earlier in this file
        # A quoted field may span lines (a name may not hold a line break, though).
        f'{make_national_id()},"หลาย\nบรรทัด",ดี,1975-02-03,{YAN_SUE},,,',
        f"{make_national_id()},ท้าย,ไฟล์,1975-02-03,{YAN_SUE},,section_99,",
    ]
    body = ("\ufeff" + "\r\n".join(lines)).encode()  # with a BOM and CRLF line ends
    r = await post_csv(registry, writer, body)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["rows"] == 10
    assert report["created"] == 1
    assert report["duplicates"] == 2
    assert report["rejected_count"] == 7 and not report["rejected_truncated"]
    by_line = {x["line"]: x["errors"] for x in report["rejected"]}
    assert sorted(by_line) == [4, 5, 6, 7, 8, 11, 13]
    assert by_line[11][0]["field"] == "first_name_th"
    assert by_line[4][0]["field"] == "national_id" and "check digit" in by_line[4][0]["message"]
    assert by_line[5][0]["field"] == "subdistrict_code"
    assert by_line[6][0]["field"] == "first_name_th"
    assert by_line[7][0]["field"] == "birth_date"
    assert "expected 8 fields" in by_line[8][0]["message"]
    assert by_line[13][0]["field"] == "social_security"
    assert bad_check not in r.text

    found = await registry.post("/v1/workers/search", json={"national_id": good}, headers=writer)
    w = found.json()
    assert w["last_name_th"] == "รักดี, จริงใจ" and w["first_name_en"] == "Somying"
    assert w["province_code"] == "62" and w["social_security"] == "section_40"
    assert w["phone"] == "081-111-2222" and w["pdpa_basis"] == "public_task"

    # Sending it again creates nobody.
    again = (await post_csv(registry, writer, body)).json()
    assert again["created"] == 0 and again["duplicates"] == 3 and again["rejected_count"] == 7


async def test_streamed_in_small_chunks_and_batches(
    registry: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    """Records cut anywhere by the transport, Thai characters split across chunks,
    more rows than one batch (the test registry's batch is the default 5,000)."""
    data = ("\ufeff" + "\n".join([HEADER, *rows(5_200)]) + "\n").encode()

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 997):
            yield data[i : i + 997]

    r = await post_csv(registry, writer, chunks())
    assert r.status_code == 200, r.text
    assert r.json() | {"rejected": []} == {
        "rows": 5_200,
        "created": 5_200,
        "duplicates": 0,
        "rejected_count": 0,
        "rejected": [],
        "rejected_truncated": False,
    }
    listed = await registry.get(
        "/v1/workers", params={"subdistrict": YAN_SUE, "limit": 200}, headers=writer
    )
    assert listed.json()["items"][0]["first_name_th"].startswith("สมชาย")


async def test_report_is_bounded(registry: httpx.AsyncClient, writer: dict[str, str]) -> None:
    bad = [
        f"{wrong_check_digit(make_national_id())},ก,ข,1980-01-01,{YAN_SUE}" for _ in range(1_100)
    ]
    r = await post_csv(registry, writer, "\n".join([HEADER, *bad]).encode())
    report = r.json()
    assert report["rejected_count"] == 1_100 and len(report["rejected"]) == 1_000
    assert report["rejected_truncated"] is True
    assert report["rejected"][0]["line"] == 2 and report["rejected"][-1]["line"] == 1_001


async def test_bad_files(registry: httpx.AsyncClient, writer: dict[str, str]) -> None:
    body = assert_problem(await post_csv(registry, writer, b""), 422)
    assert "header" in body["detail"]
    body = assert_problem(
        await post_csv(registry, writer, b"national_id,first_name_th,nickname\n"), 422
    )
    fields = {e["field"] for e in body["errors"]}
    assert "header.nickname" in fields and "header.last_name_th" in fields
    assert_problem(await post_csv(registry, writer, (HEADER + ",national_id\n").encode()), 422)
    r = await registry.post(
        "/v1/workers/import",
        content=(HEADER + "\n").encode(),
        headers={**writer, "Content-Type": "application/json"},
    )
    assert_problem(r, 415, "unsupported-media-type")
    r = await registry.post(
        "/v1/workers/import",
        content=(HEADER + "\n").encode(),
        headers={**writer, "Content-Type": "text/csv; charset=tis-620"},
    )
    assert_problem(r, 415)
    assert_problem(await registry.post("/v1/workers/import", content=b"x", headers=CSV), 401)


async def test_undecodable_and_hostile_rows(
    registry: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    hostile = "'; DROP TABLE workers; --"
    nid = make_national_id()
    data = b"\n".join(
        [
            HEADER.encode(),
            f"{make_national_id()},\xff\xfe,x,1980-01-01,{YAN_SUE}".encode("latin-1"),
            f'{nid},"{hostile}","=HYPERLINK(""x"")",1980-01-01,{YAN_SUE}'.encode(),
            f'{make_national_id()},"unclosed,x,1980-01-01,{YAN_SUE}'.encode(),
        ]
    )
    r = await post_csv(registry, writer, data)
    report = r.json()
    assert report["created"] == 1
    errors = {x["line"]: x["errors"][0]["message"] for x in report["rejected"]}
    assert errors[2] == "not valid UTF-8"
    assert 4 in errors
    w = (
        await registry.post("/v1/workers/search", json={"national_id": nid}, headers=writer)
    ).json()
    assert w["first_name_th"] == hostile and w["last_name_th"] == '=HYPERLINK("x")'


async def test_province_bound_import(
    registry: httpx.AsyncClient, ang_thong_writer: dict[str, str]
) -> None:
    data = "\n".join([HEADER, *rows(2), *rows(1, KO_TAN)]).encode()
    report = (await post_csv(registry, ang_thong_writer, data)).json()
    assert report["created"] == 2 and report["rejected_count"] == 1
    assert report["rejected"][0]["line"] == 4
    assert "province" in report["rejected"][0]["errors"][0]["message"]


def test_record_splitter_handles_quotes_and_long_records() -> None:
    splitter = RecordSplitter(max_chars=50)
    text = 'a,b\n"x\ny",z\n' + "q" * 80 + '\nlast,1\n"open\n' + "w" * 60 + "\nok,2"
    out = []
    for i in range(0, len(text), 7):
        out += list(splitter.feed(text[i : i + 7]))
    out += list(splitter.finish())
    assert out[:2] == [(1, "a,b"), (2, '"x\ny",z')]
    assert out[2:] == [(5, "last,1"), (8, "ok,2")]
    assert splitter.too_long == [4, 6]


async def test_two_imports_of_one_file_at_once(
    live: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    """Two processes import the same file concurrently: everybody is created once."""
    writer = tokens.headers("registry:read", "registry:write", client_id="import-race")
    data = "\n".join([HEADER, *rows(3_000)]).encode()
    first, second = await asyncio.gather(post_csv(live, writer, data), post_csv(live, writer, data))
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    a, b = first.json(), second.json()
    assert a["created"] + b["created"] == 3_000
    assert a["duplicates"] + b["duplicates"] == 3_000
    assert a["rejected_count"] == b["rejected_count"] == 0
    third = (await post_csv(live, writer, data)).json()
    assert third["created"] == 0 and third["duplicates"] == 3_000


def _import_rows(nids: list[str], protector: NationalIdProtector) -> list[tuple[Any, ...]]:
    return [
        (
            new_id(),
            protector.lookup_hash(nid),
            protector.encrypt(nid),
            "สมชาย",
            "ใจดี",
            None,
            None,
            date(1980, 1, 1),
            YAN_SUE,
            YAN_SUE[:4],
            YAN_SUE[:2],
            None,
            "unknown",
            "public_task",
            None,
            1,
            "test",
            None,
        )
        for nid in nids
    ]


async def _until_waiting_on_a_transaction(engine: AsyncEngine, pid: int) -> None:
    async with engine.connect() as watcher:
        for _ in range(1_000):
            wait_event = await watcher.scalar(
                text("SELECT wait_event FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
            if wait_event == "transactionid":
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"backend {pid} never waited for the other transaction")


async def test_copy_gives_way_to_a_concurrent_import(databases: Databases) -> None:
    """A batch whose people another import registers between the check and the COPY
    falls back to INSERT … ON CONFLICT DO NOTHING: each person once, nothing lost."""
    protector = NationalIdProtector(PiiKeys(os.urandom(32), os.urandom(32)))
    nids = [make_national_id() for _ in range(15)]
    hmacs = [protector.lookup_hash(n) for n in nids]
    engine = create_async_engine(databases.urls["registry"])
    try:
        async with AsyncSession(engine) as first, AsyncSession(engine) as second:
            created = await WorkerRepository(first).insert_new(_import_rows(nids[:10], protector))
            assert created == 10
            second_pid = await second.scalar(text("SELECT pg_backend_pid()"))
            # The second sees none of the first's uncommitted rows, and its COPY
            # waits on the first's index entries for the five they share.
            racing = asyncio.create_task(
                WorkerRepository(second).insert_new(_import_rows(nids[5:], protector))
            )
            try:
                await _until_waiting_on_a_transaction(engine, second_pid)
                await first.commit()
                assert await racing == 5  # the five only it has
                await second.commit()
            finally:
                if not racing.done():  # a failure above: let it end before the sessions close
                    await first.rollback()
                    with contextlib.suppress(Exception):
                        await racing
        async with engine.connect() as conn:
            stored = await conn.scalar(
                text("SELECT count(*) FROM workers WHERE national_id_hmac = ANY(:h)"),
                {"h": hmacs},
            )
        assert stored == 15
    finally:
        # Sealed with a key of this test's own, the rows would break other tests' lists.
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM workers WHERE national_id_hmac = ANY(:h)"), {"h": hmacs}
            )
        await engine.dispose()


async def test_batches_written_side_by_side(
    live: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    """A real process writes batches through two connections at once. People met
    again later in the file (while their first batch may still be in flight) are
    duplicates, nobody is created twice, and every batch's people are stored."""
    people = [make_national_id() for _ in range(11_000)]
    again = people[4_000:4_500] + people[6_000:6_500]  # from the first and second batches
    lines = [
        f"{nid},คน{i},ทดสอบ,1980-01-{i % 28 + 1:02d},{YAN_SUE}"
        for i, nid in enumerate(people + again)
    ]
    body = "\n".join([HEADER, *lines]).encode()
    first = await post_csv(live, writer, body)
    assert first.status_code == 200, first.text
    assert first.json() | {"rejected": []} == {
        "rows": 12_000,
        "created": 11_000,
        "duplicates": 1_000,
        "rejected_count": 0,
        "rejected": [],
        "rejected_truncated": False,
    }
    for nid in (people[0], people[5_000], people[10_999]):
        found = await live.post("/v1/workers/search", json={"national_id": nid}, headers=writer)
        assert found.status_code == 200, found.text
    resent = (await post_csv(live, writer, body)).json()
    assert (resent["created"], resent["duplicates"]) == (0, 12_000)
