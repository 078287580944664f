"""Workers: checksum, one person once, masking, search by body, province restriction."""

from __future__ import annotations

import json
import uuid

import httpx
from otog_registry.audit.models import AuditEvent
from otog_registry.workers.models import Worker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.registry.conftest import (
    KO_TAN,
    YAN_SUE,
    assert_problem,
    create_worker,
    make_national_id,
    worker_body,
    wrong_check_digit,
)
from tests.support.tokens import TokenFactory


async def test_register_returns_masked_id(
    registry: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    body = worker_body(first_name_en="Somsri", last_name_en="Jaidee", phone="081-234-5678")
    r = await registry.post("/v1/workers", json=body, headers=writer)
    assert r.status_code == 201, r.text
    out = r.json()
    nid = body["national_id"]
    assert out["national_id_masked"] == f"x-xxxx-xxxx{nid[9]}-{nid[10:12]}-{nid[12]}"
    assert out["national_id"] is None
    assert nid not in r.text
    assert out["first_name_th"] == "สมศรี" and out["last_name_en"] == "Jaidee"
    assert (out["subdistrict_code"], out["district_code"], out["province_code"]) == (
        YAN_SUE,
        "1501",
        "15",
    )
    assert out["social_security"] == "unknown" and out["pdpa_basis"] == "public_task"
    assert r.headers["location"] == f"/v1/workers/{out['id']}"
    assert r.headers["etag"]

    got = await registry.get(f"/v1/workers/{out['id']}", headers=writer)
    assert got.status_code == 200 and got.json() == out
    assert got.headers["etag"] == r.headers["etag"]


async def test_pii_read_unmasks(
    registry: httpx.AsyncClient, writer: dict[str, str], tokens: TokenFactory
) -> None:
    nid = make_national_id()
    worker = await create_worker(registry, writer, national_id=nid)
    pii = tokens.headers("registry:read", "pii:read")
    r = await registry.get(f"/v1/workers/{worker['id']}", headers=pii)
    assert r.json()["national_id"] == nid


async def test_same_person_twice_is_409(
    registry: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    nid = make_national_id()
    first = await create_worker(registry, writer, national_id=nid)
    # The same number written with dashes is the same person.
    dashed = f"{nid[0]}-{nid[1:5]}-{nid[5:10]}-{nid[10:12]}-{nid[12]}"
    r = await registry.post(
        "/v1/workers",
        json=worker_body(national_id=dashed, first_name_th="อื่น"),
        headers=writer,
    )
    body = assert_problem(r, 409, "duplicate-worker")
    assert body["worker_id"] == first["id"]
    assert nid not in r.text


async def test_duplicate_in_another_province_does_not_reveal_the_worker(
    registry: httpx.AsyncClient, writer: dict[str, str], tokens: TokenFactory
) -> None:
    nid = make_national_id()
    await create_worker(registry, writer, national_id=nid, subdistrict_code=KO_TAN)
    ang_thong = tokens.headers("registry:write", province="15")
    r = await registry.post("/v1/workers", json=worker_body(national_id=nid), headers=ang_thong)
    body = assert_problem(r, 409, "duplicate-worker")
    assert "worker_id" not in body


async def test_invalid_national_ids_are_422_without_echo(
    registry: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    nid = make_national_id()
    for bad, message in [
        (wrong_check_digit(nid), "check digit"),
        (nid[:12], "13 digits"),
        (nid + "1", "13 digits"),
        ("12345678901a3", "13 digits"),
        ("๑๒๓๔๕๖๗๘๙๐๑๒๓", "13 digits"),  # Thai digits are not accepted
    ]:
        r = await registry.post("/v1/workers", json=worker_body(national_id=bad), headers=writer)
        body = assert_problem(r, 422, "validation-error")
        assert body["errors"][0]["field"] == "body.national_id"
        assert message in body["errors"][0]["message"]
        assert bad not in r.text

    r = await registry.post("/v1/workers", json=worker_body(national_id=1234), headers=writer)
    assert_problem(r, 422)


async def test_other_invalid_values(registry: httpx.AsyncClient, writer: dict[str, str]) -> None:
    cases = [
        ({"subdistrict_code": "999999"}, "body.subdistrict_code"),
        ({"subdistrict_code": "15011"}, "body.subdistrict_code"),
        ({"birth_date": "2999-01-01"}, "body.birth_date"),
        ({"birth_date": "1850-01-01"}, "body.birth_date"),
        ({"birth_date": "12/04/1985"}, "body.birth_date"),
        ({"birth_date": 0}, "body.birth_date"),
        ({"pdpa_basis": "consent", "consent_given_at": 1700000000}, "body.consent_given_at"),
        ({"first_name_th": ""}, "body.first_name_th"),
        ({"first_name_th": "   "}, "body.first_name_th"),
        ({"first_name_th": "a\x00b"}, "body.first_name_th"),
        ({"phone": "call me"}, "body.phone"),
        ({"social_security": "section_99"}, "body.social_security"),
        ({"pdpa_basis": "consent"}, "body"),
        ({"unknown_field": 1}, "body.unknown_field"),
    ]
    for override, field in cases:
        r = await registry.post("/v1/workers", json=worker_body(**override), headers=writer)
        body = assert_problem(r, 422)
        assert any(e["field"] == field for e in body["errors"]), (override, body)
    # A lone surrogate is valid JSON but cannot be stored as UTF-8.
    r = await registry.post(
        "/v1/workers",
        content=json.dumps(worker_body(first_name_th="a\ud800b")).encode(),
        headers={**writer, "Content-Type": "application/json"},
    )
    assert assert_problem(r, 422)["errors"][0]["field"] == "body.first_name_th"
    # An abolished code is refused with the codes that replaced it.
    r = await registry.post(
        "/v1/workers", json=worker_body(subdistrict_code="104701"), headers=writer
    )
    message = assert_problem(r, 422)["errors"][0]["message"]
    assert "abolished on 2022-04-22" in message and "104702" in message
    missing = worker_body()
    del missing["last_name_th"]
    assert_problem(await registry.post("/v1/workers", json=missing, headers=writer), 422)
    r = await registry.post(
        "/v1/workers",
        content=b"{not json",
        headers={**writer, "Content-Type": "application/json"},
    )
    assert_problem(r, 400, "bad-request")


async def test_consent_is_recorded(registry: httpx.AsyncClient, writer: dict[str, str]) -> None:
    out = await create_worker(
        registry,
        writer,
        pdpa_basis="consent",
        consent_given_at="2025-01-15T10:00:00",
        social_security="section_40",
    )
    assert out["pdpa_basis"] == "consent" and out["social_security"] == "section_40"
    # Without an offset the time is Thai local time.
    assert out["consent_given_at"] in ("2025-01-15T03:00:00Z", "2025-01-15T03:00:00+00:00")


async def test_search_by_national_id(
    registry: httpx.AsyncClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    nid = make_national_id()
    worker = await create_worker(registry, writer, national_id=nid)
    r = await registry.post("/v1/workers/search", json={"national_id": nid}, headers=reader)
    assert r.status_code == 200 and r.json()["id"] == worker["id"]
    assert r.json()["national_id"] is None

    other = make_national_id()
    r = await registry.post("/v1/workers/search", json={"national_id": other}, headers=reader)
    assert_problem(r, 404, "not-found")
    assert other not in r.text
    r = await registry.post(
        "/v1/workers/search", json={"national_id": wrong_check_digit(nid)}, headers=reader
    )
    assert_problem(r, 422)
    assert_problem(await registry.post("/v1/workers/search", json={}, headers=reader), 422)


async def test_auth_errors(
    registry: httpx.AsyncClient, reader: dict[str, str], tokens: TokenFactory
) -> None:
    assert_problem(await registry.post("/v1/workers", json=worker_body()), 401, "unauthorized")
    assert_problem(await registry.get("/v1/workers"), 401)
    assert_problem(
        await registry.get("/v1/workers", headers={"Authorization": "Bearer nonsense"}), 401
    )
    body = assert_problem(
        await registry.post("/v1/workers", json=worker_body(), headers=reader), 403, "forbidden"
    )
    assert body["missing_scopes"] == ["registry:write"]
    market = tokens.headers("market:write")
    assert_problem(await registry.get("/v1/workers", headers=market), 403)
    assert_problem(
        await registry.post("/v1/workers/search", json={"national_id": "1"}, headers=market), 403
    )


async def test_province_restriction(
    registry: httpx.AsyncClient,
    writer: dict[str, str],
    ang_thong_writer: dict[str, str],
    phayao_writer: dict[str, str],
) -> None:
    nid = make_national_id()
    mine = await create_worker(registry, ang_thong_writer, national_id=nid)
    elsewhere = await create_worker(registry, writer, subdistrict_code=KO_TAN)

    # Creating in another province is forbidden.
    r = await registry.post("/v1/workers", json=worker_body(), headers=phayao_writer)
    assert_problem(r, 403, "forbidden")

    # Another province's worker is not found, by id and by national ID.
    assert_problem(await registry.get(f"/v1/workers/{mine['id']}", headers=phayao_writer), 404)
    r = await registry.post("/v1/workers/search", json={"national_id": nid}, headers=phayao_writer)
    assert_problem(r, 404)
    r = await registry.patch(
        f"/v1/workers/{mine['id']}", json={"phone": "0812345678"}, headers=phayao_writer
    )
    assert_problem(r, 404)

    # Lists show only the caller's province, whatever the filter says.
    r = await registry.get("/v1/workers", params={"limit": 200}, headers=ang_thong_writer)
    ids = {w["id"] for w in r.json()["items"]}
    assert mine["id"] in ids and elsewhere["id"] not in ids
    assert all(w["province_code"] == "15" for w in r.json()["items"])
    r = await registry.get("/v1/workers", params={"province": "62"}, headers=ang_thong_writer)
    assert r.json()["items"] == []

    # A province-bound client cannot move a worker out of its province.
    r = await registry.patch(
        f"/v1/workers/{mine['id']}", json={"subdistrict_code": KO_TAN}, headers=ang_thong_writer
    )
    assert_problem(r, 403)


async def test_list_filters_and_pagination(
    registry: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    created = [await create_worker(registry, writer, subdistrict_code=KO_TAN) for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"subdistrict": KO_TAN, "limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await registry.get("/v1/workers", params=params, headers=writer)
        assert r.status_code == 200
        assert len(r.json()["items"]) <= 2
        seen += [w["id"] for w in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == [w["id"] for w in created]
    r = await registry.get("/v1/workers", params={"district": "6204"}, headers=writer)
    assert {w["id"] for w in r.json()["items"]} >= set(seen[:2])
    r = await registry.get("/v1/workers", params={"province": "62", "limit": 1}, headers=writer)
    assert len(r.json()["items"]) == 1 and r.json()["next_cursor"]


async def test_list_by_ids(
    registry: httpx.AsyncClient,
    writer: dict[str, str],
    ang_thong_writer: dict[str, str],
) -> None:
    """Many known workers in one call: the ones that exist and are visible, in id
    order; an unknown id is simply absent."""
    nan = [await create_worker(registry, writer, subdistrict_code=KO_TAN) for _ in range(3)]
    ang_thong = await create_worker(registry, writer)
    unknown = str(uuid.uuid4())
    ids = [w["id"] for w in [*nan, ang_thong]] + [unknown]
    params = [("id", worker_id) for worker_id in ids] + [("limit", "100")]
    r = await registry.get("/v1/workers", params=params, headers=writer)
    assert r.status_code == 200, r.text
    assert [w["id"] for w in r.json()["items"]] == sorted(ids[:4])
    assert r.json()["next_cursor"] is None

    # Combined with the other filters, and with the caller's province.
    r = await registry.get("/v1/workers", params=[*params, ("province", "62")], headers=writer)
    assert {w["id"] for w in r.json()["items"]} == {w["id"] for w in nan}
    r = await registry.get("/v1/workers", params=params, headers=ang_thong_writer)
    assert [w["id"] for w in r.json()["items"]] == [ang_thong["id"]]

    # Paged like any list.
    r = await registry.get("/v1/workers", params=[*params[:4], ("limit", "3")], headers=writer)
    assert len(r.json()["items"]) == 3 and r.json()["next_cursor"]

    # At most 100 ids, each a UUID.
    many = [("id", str(uuid.uuid4())) for _ in range(101)]
    assert_problem(await registry.get("/v1/workers", params=many, headers=writer), 422)
    bad = await registry.get("/v1/workers", params={"id": "not-an-id"}, headers=writer)
    assert_problem(bad, 422)


async def test_thai_and_hostile_text_round_trip(
    registry: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    hostile = [
        "Robert'); DROP TABLE workers;--",
        "<script>alert('x')</script>",
        "${jndi:ldap://example.invalid/a}",
        "ณัฐฐ์ธีร์ ศรีสุวรรณ์ 🙏",
        "e\u0301\u200b\u202eabc",
        "%_\\",
    ]
    for value in hostile:
        out = await create_worker(registry, writer, first_name_th=value, last_name_th=value)
        r = await registry.get(f"/v1/workers/{out['id']}", headers=writer)
        assert r.json()["first_name_th"] == value and r.json()["last_name_th"] == value


async def test_patch_with_if_match(registry: httpx.AsyncClient, writer: dict[str, str]) -> None:
    worker = await create_worker(registry, writer)
    got = await registry.get(f"/v1/workers/{worker['id']}", headers=writer)
    etag = got.headers["etag"]
    r = await registry.patch(
        f"/v1/workers/{worker['id']}",
        json={"phone": "089-999-0000", "social_security": "section_40", "subdistrict_code": KO_TAN},
        headers={**writer, "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "089-999-0000" and r.json()["province_code"] == "62"
    assert r.headers["etag"] != etag
    stale = await registry.patch(
        f"/v1/workers/{worker['id']}",
        json={"phone": "000000000"},
        headers={**writer, "If-Match": etag},
    )
    assert_problem(stale, 412, "precondition-failed")
    r = await registry.patch(
        f"/v1/workers/{worker['id']}", json={"first_name_th": None}, headers=writer
    )
    assert_problem(r, 422)
    r = await registry.patch(
        f"/v1/workers/{worker['id']}", json={"national_id": make_national_id()}, headers=writer
    )
    assert_problem(r, 422)


async def test_unknown_worker(registry: httpx.AsyncClient, reader: dict[str, str]) -> None:
    r = await registry.get("/v1/workers/01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b", headers=reader)
    assert_problem(r, 404, "not-found")
    # A path that names no worker at all (the id is not a UUID), not an invalid value.
    assert_problem(await registry.get("/v1/workers/not-a-uuid", headers=reader), 404)


async def test_stored_encrypted_and_audited(
    registry_session: tuple[httpx.AsyncClient, AsyncSession], writer: dict[str, str]
) -> None:
    client, session = registry_session
    nid = make_national_id()
    r = await client.post(
        "/v1/workers",
        json=worker_body(national_id=nid),
        headers={**writer, "X-Request-ID": "req-worker-1"},
    )
    out = r.json()
    row = (await session.execute(select(Worker).where(Worker.id == out["id"]))).scalar_one()
    assert nid.encode() not in row.national_id_encrypted
    assert nid.encode() not in row.national_id_hmac
    assert row.created_by == "labour-office" and row.created_request_id == "req-worker-1"
    event = (
        await session.execute(select(AuditEvent).where(AuditEvent.entity_id == row.id))
    ).scalar_one()
    assert event.action == "worker.created" and event.actor == "labour-office"
    assert event.request_id == "req-worker-1"
    assert event.changes["national_id"] == "[redacted]"
    assert event.changes["first_name_th"] == "สมศรี"
    assert nid not in str(event.changes)
