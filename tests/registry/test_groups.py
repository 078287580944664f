"""Groups: create, read, filter, PATCH with If-Match, journey, prototype rule."""

from __future__ import annotations

import httpx
from otog_registry.audit.models import AuditEvent
from otog_registry.fiscal import current_fiscal_year
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.registry.conftest import KO_TAN, YAN_SUE, assert_problem, create_group, group_body
from tests.support.tokens import TokenFactory


async def test_create_and_get(registry: httpx.AsyncClient, writer: dict[str, str]) -> None:
    r = await registry.post(
        "/v1/groups",
        json=group_body(contact_name="สมศรี ใจดี", contact_phone="081-234-5678"),
        headers=writer,
    )
    assert r.status_code == 201, r.text
    group = r.json()
    assert group["status"] == "registered"
    assert group["name_th"] == "กลุ่มดอกไม้จันทน์และพวงหรีดย่านซื่อ"
    assert (group["subdistrict_code"], group["district_code"], group["province_code"]) == (
        YAN_SUE,
        "1501",
        "15",
    )
    assert group["occupation"] == "flowers_wreaths"
    assert r.headers["location"] == f"/v1/groups/{group['id']}"
    got = await registry.get(f"/v1/groups/{group['id']}", headers=writer)
    assert got.status_code == 200 and got.json() == group
    assert got.headers["etag"] == r.headers["etag"]


async def test_registration_starts_the_history(
    registry: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    group = await create_group(registry, writer)
    r = await registry.get(f"/v1/groups/{group['id']}/stage-changes", headers=writer)
    [first] = r.json()["items"]
    assert first["from_stage"] is None and first["to_stage"] == "registered"
    assert first["actor"] == "labour-office"
    assert first["fiscal_year"] == current_fiscal_year()


async def test_invalid_groups(registry: httpx.AsyncClient, writer: dict[str, str]) -> None:
    cases = [
        ({"subdistrict_code": "000000"}, "body.subdistrict_code"),
        ({"occupation": "astronaut"}, "body.occupation"),
        ({"name_th": ""}, "body.name_th"),
        ({"contact_email": "not-an-email"}, "body.contact_email"),
        ({"status": "marketing"}, "body.status"),
    ]
    for override, field in cases:
        r = await registry.post("/v1/groups", json=group_body(**override), headers=writer)
        body = assert_problem(r, 422)
        assert any(e["field"] == field for e in body["errors"]), body
    assert_problem(await registry.post("/v1/groups", json=group_body()), 401)
    assert_problem(
        await registry.get("/v1/groups/01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b", headers=writer),
        404,
        "not-found",
    )


async def test_occupations_are_documented(registry: httpx.AsyncClient) -> None:
    r = await registry.get("/v1/groups/occupations")
    codes = {o["code"] for o in r.json()["items"]}
    assert {
        "food_processing",
        "textiles_weaving",
        "handicraft",
        "agriculture",
        "beekeeping",
        "herbal_spa",
        "flowers_wreaths",
        "other",
    } <= codes
    assert all(o["name_th"] and o["name_en"] for o in r.json()["items"])


async def test_filters_and_province_restriction(
    registry: httpx.AsyncClient,
    writer: dict[str, str],
    ang_thong_writer: dict[str, str],
    phayao_writer: dict[str, str],
) -> None:
    wreaths = await create_group(registry, ang_thong_writer)
    pork = await create_group(
        registry,
        writer,
        subdistrict_code=KO_TAN,
        occupation="food_processing",
        name_th="วิสาหกิจชุมชนหมูแดดเดียวเกาะตาล",
    )

    async def ids(headers: dict[str, str], **params: str) -> set[str]:
        r = await registry.get("/v1/groups", params={"limit": "200", **params}, headers=headers)
        assert r.status_code == 200, r.text
        return {g["id"] for g in r.json()["items"]}

    assert {wreaths["id"], pork["id"]} <= await ids(writer)
    assert pork["id"] in await ids(writer, province="62")
    assert wreaths["id"] not in await ids(writer, province="62")
    assert wreaths["id"] in await ids(writer, district="1501")
    assert pork["id"] in await ids(writer, subdistrict=KO_TAN)
    assert pork["id"] in await ids(writer, occupation="food_processing")
    assert pork["id"] not in await ids(writer, occupation="flowers_wreaths")
    assert pork["id"] in await ids(writer, status="registered")
    assert pork["id"] not in await ids(writer, status="prototype")
    assert_problem(await registry.get("/v1/groups", params={"status": "x"}, headers=writer), 422)

    # A province-bound client sees its own province only; others are 404.
    assert await ids(ang_thong_writer) >= {wreaths["id"]}
    assert pork["id"] not in await ids(ang_thong_writer)
    assert await ids(ang_thong_writer, province="62") == set()
    assert_problem(await registry.get(f"/v1/groups/{wreaths['id']}", headers=phayao_writer), 404)
    r = await registry.post("/v1/groups", json=group_body(), headers=phayao_writer)
    assert_problem(r, 403, "forbidden")
    r = await registry.patch(
        f"/v1/groups/{wreaths['id']}", json={"name_en": "x"}, headers=phayao_writer
    )
    assert_problem(r, 404)
    r = await registry.post(
        f"/v1/groups/{wreaths['id']}/stage-changes",
        json={"stage": "prototype"},
        headers=phayao_writer,
    )
    assert_problem(r, 404)


async def test_patch_with_etag(
    registry_session: tuple[httpx.AsyncClient, AsyncSession], writer: dict[str, str]
) -> None:
    registry, session = registry_session
    group = await create_group(registry, writer)
    got = await registry.get(f"/v1/groups/{group['id']}", headers=writer)
    etag = got.headers["etag"]
    r = await registry.patch(
        f"/v1/groups/{group['id']}",
        json={"description": "ดอกไม้จันทน์\nพวงหรีด", "occupation": "handicraft"},
        headers={**writer, "If-Match": etag, "X-Request-ID": "patch-1"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["description"] == "ดอกไม้จันทน์\nพวงหรีด"
    assert r.json()["occupation"] == "handicraft"
    new_etag = r.headers["etag"]
    assert new_etag != etag

    stale = await registry.patch(
        f"/v1/groups/{group['id']}", json={"name_en": "Late"}, headers={**writer, "If-Match": etag}
    )
    assert_problem(stale, 412, "precondition-failed")
    assert (await registry.get(f"/v1/groups/{group['id']}", headers=writer)).json()[
        "name_en"
    ] == group["name_en"]

    # Status and place are not patchable.
    for body in ({"status": "marketing"}, {"subdistrict_code": KO_TAN}, {"name_th": None}):
        assert_problem(
            await registry.patch(f"/v1/groups/{group['id']}", json=body, headers=writer), 422
        )

    events = (
        (await session.execute(select(AuditEvent).where(AuditEvent.request_id == "patch-1")))
        .scalars()
        .all()
    )
    [event] = events
    assert event.action == "group.updated" and event.actor == "labour-office"
    assert event.changes["occupation"] == {"from": "flowers_wreaths", "to": "handicraft"}


async def test_full_journey_and_illegal_moves(
    registry: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    group = await create_group(registry, writer)
    url = f"/v1/groups/{group['id']}/stage-changes"

    r = await registry.post(url, json={"stage": "training"}, headers=writer)
    body = assert_problem(r, 409, "illegal-stage-transition")
    assert body["current_stage"] == "registered"
    assert "prototype" in body["allowed_stages"]

    for stage in ("prototype", "training", "product_development", "funding", "marketing"):
        r = await registry.post(
            url, json={"stage": stage, "fiscal_year": 2568, "note": f"ไป {stage}"}, headers=writer
        )
        assert r.status_code == 201, r.text
        assert r.json()["to_stage"] == stage and r.json()["fiscal_year"] == 2568
        assert r.json()["actor"] == "labour-office"
    assert (await registry.get(f"/v1/groups/{group['id']}", headers=writer)).json()[
        "status"
    ] == "marketing"

    assert_problem(await registry.post(url, json={"stage": "marketing"}, headers=writer), 409)
    assert_problem(await registry.post(url, json={"stage": "registered"}, headers=writer), 409)

    # Suspend, then resume where it was.
    assert (
        await registry.post(url, json={"stage": "suspended"}, headers=writer)
    ).status_code == 201
    r = await registry.post(url, json={"stage": "training"}, headers=writer)
    assert assert_problem(r, 409, "illegal-stage-transition")["allowed_stages"] == [
        "marketing",
        "dissolved",
    ]
    assert (
        await registry.post(url, json={"stage": "marketing"}, headers=writer)
    ).status_code == 201
    assert (
        await registry.post(url, json={"stage": "dissolved"}, headers=writer)
    ).status_code == 201
    body = assert_problem(
        await registry.post(url, json={"stage": "suspended"}, headers=writer), 409
    )
    assert body["allowed_stages"] == []

    history = (await registry.get(url, headers=writer)).json()["items"]
    assert [h["to_stage"] for h in history] == [
        "registered",
        "prototype",
        "training",
        "product_development",
        "funding",
        "marketing",
        "suspended",
        "marketing",
        "dissolved",
    ]
    assert [h["from_stage"] for h in history][1:3] == ["registered", "prototype"]

    page = await registry.get(url, params={"limit": 4}, headers=writer)
    assert len(page.json()["items"]) == 4 and page.json()["next_cursor"]


async def test_stage_change_validation(
    registry: httpx.AsyncClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    group = await create_group(registry, writer)
    url = f"/v1/groups/{group['id']}/stage-changes"
    too_late = current_fiscal_year() + 2
    for body in (
        {"stage": "flying"},
        {},
        {"stage": "prototype", "fiscal_year": 2024},
        {"stage": "prototype", "fiscal_year": too_late},
        {"stage": "prototype", "fiscal_year": "2568"},
        {"stage": "prototype", "note": "a\x00b"},
    ):
        assert_problem(await registry.post(url, json=body, headers=writer), 422)
    assert_problem(await registry.post(url, json={"stage": "prototype"}, headers=reader), 403)
    assert_problem(
        await registry.post(
            "/v1/groups/01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b/stage-changes",
            json={"stage": "prototype"},
            headers=writer,
        ),
        404,
    )


async def test_one_prototype_per_subdistrict_per_fiscal_year(
    registry: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    first = await create_group(registry, writer)
    second = await create_group(registry, writer, name_th="กลุ่มที่สอง")
    other_place = await create_group(registry, writer, subdistrict_code=KO_TAN)

    def url(g: dict[str, str]) -> str:
        return f"/v1/groups/{g['id']}/stage-changes"

    r = await registry.post(
        url(first), json={"stage": "prototype", "fiscal_year": 2568}, headers=writer
    )
    assert r.status_code == 201
    r = await registry.post(
        url(second), json={"stage": "prototype", "fiscal_year": 2568}, headers=writer
    )
    body = assert_problem(r, 409, "prototype-taken")
    assert body["prototype_group_id"] == first["id"] and body["fiscal_year"] == 2568
    assert (await registry.get(f"/v1/groups/{second['id']}", headers=writer)).json()[
        "status"
    ] == "registered"
    # Another fiscal year, or another subdistrict, is free.
    r = await registry.post(
        url(second), json={"stage": "prototype", "fiscal_year": 2569}, headers=writer
    )
    assert r.status_code == 201
    r = await registry.post(
        url(other_place), json={"stage": "prototype", "fiscal_year": 2568}, headers=writer
    )
    assert r.status_code == 201


async def test_stage_changes_of_other_scopes(
    registry: httpx.AsyncClient, writer: dict[str, str], tokens: TokenFactory
) -> None:
    group = await create_group(registry, writer)
    loans = tokens.headers("registry:read", client_id="loan-ledger")
    r = await registry.get(f"/v1/groups/{group['id']}", headers=loans)
    assert r.status_code == 200
    assert set(r.json()) >= {
        "id",
        "name_th",
        "name_en",
        "status",
        "subdistrict_code",
        "district_code",
        "province_code",
        "occupation",
    }


async def test_hostile_and_thai_text_in_groups(
    registry: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    name = "กลุ่ม'; DROP TABLE groups; -- <b>ทอผ้า</b> 🧵"
    description = "บรรทัดแรก\n\tบรรทัดสอง {{7*7}} ${env:X} ../../etc/passwd"
    group = await create_group(registry, writer, name_th=name, description=description)
    got = (await registry.get(f"/v1/groups/{group['id']}", headers=writer)).json()
    assert got["name_th"] == name and got["description"] == description
    r = await registry.get(
        "/v1/groups", params={"subdistrict": YAN_SUE, "limit": 200}, headers=writer
    )
    assert name in [g["name_th"] for g in r.json()["items"]]


async def test_long_client_ids_are_recorded_whole(
    registry: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    """Tokens of a trusted external issuer may carry long subject ids."""
    long_id = "https://idp.example.org/clients/" + "x" * 300
    headers = tokens.headers("registry:read", "registry:write", client_id=long_id)
    group = await create_group(registry, headers)
    r = await registry.get(f"/v1/groups/{group['id']}/stage-changes", headers=headers)
    assert r.json()["items"][0]["actor"] == long_id
