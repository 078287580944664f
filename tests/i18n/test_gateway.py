"""Thai and English problem details through the real gateway and service processes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.conftest import Stack
from tests.registry.conftest import make_national_id, worker_body
from tests.support.tokens import TokenFactory

pytestmark = pytest.mark.e2e

TH = {"Accept-Language": "th-TH,th;q=0.9,en;q=0.8"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


@pytest_asyncio.fixture
async def gw(live_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_stack.gateway_url, timeout=30) as client:
        yield client


def problem(response: httpx.Response, status: int, slug: str, language: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers.get("content-language") == language, (response.headers, response.text)
    assert "accept-language" in response.headers.get("vary", "").lower()
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def is_thai(text: str) -> bool:
    return any("\u0e00" <= ch <= "\u0e7f" for ch in text)


async def test_401_in_both_languages(gw: httpx.AsyncClient) -> None:
    th = problem(await gw.get("/v1/workers", headers=TH), 401, "unauthorized", "th")
    assert th["title"] == "ยืนยันตัวตนไม่สำเร็จ"
    assert th["detail"] == "กรุณาเข้าสู่ระบบก่อนใช้งาน"
    en = problem(await gw.get("/v1/workers", headers=EN), 401, "unauthorized", "en")
    assert (en["title"], en["detail"]) == ("Unauthorized", "A bearer token is required.")
    # No header at all: English.
    plain = problem(await gw.get("/v1/workers"), 401, "unauthorized", "en")
    assert plain["title"] == "Unauthorized"


async def test_404_in_both_languages_in_every_service(
    gw: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    reader = tokens.headers("registry:read", "loans:read", "training:read")
    missing = uuid.uuid4()
    th = problem(
        await gw.get(f"/v1/workers/{missing}", headers={**reader, **TH}), 404, "not-found", "th"
    )
    assert (th["title"], th["detail"]) == ("ไม่พบข้อมูล", "ไม่พบข้อมูลแรงงาน")
    en = problem(
        await gw.get(f"/v1/workers/{missing}", headers={**reader, **EN}), 404, "not-found", "en"
    )
    assert (en["title"], en["detail"]) == ("Not Found", "Worker not found.")

    th = problem(
        await gw.get(f"/v1/loans/{missing}", headers={**reader, **TH}), 404, "not-found", "th"
    )
    assert th["detail"] == "ไม่พบเงินกู้"
    th = problem(
        await gw.get(f"/v1/training-sessions/{missing}", headers={**reader, **TH}),
        404,
        "not-found",
        "th",
    )
    assert th["detail"] == "ไม่พบรอบอบรม"


async def test_duplicate_worker_409_in_both_languages(
    gw: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    writer = tokens.headers("registry:read", "registry:write")
    body = worker_body(national_id=make_national_id())
    r = await gw.post("/v1/workers", json=body, headers=writer)
    assert r.status_code == 201, r.text

    th = problem(
        await gw.post("/v1/workers", json=body, headers={**writer, **TH}),
        409,
        "duplicate-worker",
        "th",
    )
    assert th["title"] == "แรงงานรายนี้ลงทะเบียนไว้แล้ว"
    assert th["detail"] == "บุคคลนี้ลงทะเบียนเป็นแรงงานไว้แล้ว"
    en = problem(
        await gw.post("/v1/workers", json=body, headers={**writer, **EN}),
        409,
        "duplicate-worker",
        "en",
    )
    assert en["title"] == "Worker Already Registered"
    assert en["detail"] == "This person is already registered."
    # The machine-readable members are the same whatever the language.
    assert {k: v for k, v in th.items() if k not in ("title", "detail", "request_id")} == {
        k: v for k, v in en.items() if k not in ("title", "detail", "request_id")
    }


async def test_422_with_several_errors_in_both_languages(
    gw: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    writer = tokens.headers("registry:read", "registry:write")
    bad = {
        "national_id": "1" * 20,
        "birth_date": "1985-13-45",
        "subdistrict_code": "150114",
        "last_name_th": "ใจดี",
        "surprise": True,
    }
    th = problem(
        await gw.post("/v1/workers", json=bad, headers={**writer, **TH}),
        422,
        "validation-error",
        "th",
    )
    en = problem(
        await gw.post("/v1/workers", json=bad, headers={**writer, **EN}),
        422,
        "validation-error",
        "en",
    )
    assert th["title"] == "ข้อมูลไม่ถูกต้อง" and en["title"] == "Unprocessable Entity"
    assert is_thai(th["detail"]) and not is_thai(en["detail"])
    th_errors = {e["field"]: e["message"] for e in th["errors"]}
    en_errors = {e["field"]: e["message"] for e in en["errors"]}
    # The same fields, paths kept as sent, in both languages.
    assert set(th_errors) == set(en_errors)
    assert {"body.first_name_th", "body.surprise", "body.birth_date"} <= set(th_errors)
    assert th_errors["body.first_name_th"] == "กรุณากรอกชื่อ (ภาษาไทย)"
    assert th_errors["body.surprise"] == "ไม่มีช่องนี้ในแบบฟอร์ม กรุณานำออก"
    assert th_errors["body.birth_date"].startswith("วันเกิดต้องเป็นวันที่")
    for field, message in th_errors.items():
        assert is_thai(message), (field, message)
        assert not is_thai(en_errors[field]), (field, en_errors[field])
    # Messages only: the national ID sent is never echoed.
    assert "1" * 20 not in str(th) and "1" * 20 not in str(en)


async def test_q_values_pick_the_language(gw: httpx.AsyncClient) -> None:
    for header, language in [
        ("en;q=0.5, th;q=0.9", "th"),
        ("th;q=0.4, en;q=0.6", "en"),
        ("fr-FR, th;q=0.1", "th"),
        ("th;q=0", "en"),
        ("de", "en"),
    ]:
        r = await gw.get("/v1/workers", headers={"Accept-Language": header})
        body = problem(r, 401, "unauthorized", language)
        assert is_thai(body["title"]) == (language == "th"), header


async def test_the_gateways_own_problems_in_both_languages(gw: httpx.AsyncClient) -> None:
    th = problem(await gw.get("/v1/no-such-thing", headers=TH), 404, "not-found", "th")
    assert (th["title"], th["detail"]) == ("ไม่พบข้อมูล", "ไม่พบข้อมูลตามที่อยู่นี้")
    en = problem(await gw.get("/v1/no-such-thing", headers=EN), 404, "not-found", "en")
    assert en["title"] == "Not Found"
    assert problem(await gw.get("/v1/no-such-thing"), 404, "not-found", "en")
    # The gateway takes Thai when it is the first language with a weight above 0.
    for header, language in [("th;q=0.8, en;q=0.5", "th"), ("th;q=0", "en"), ("thai", "en")]:
        r = await gw.get("/v1/no-such-thing", headers={"Accept-Language": header})
        problem(r, 404, "not-found", language)
    big = await gw.post(
        "/v1/oauth/token", content=b"x" * 20_000, headers={**TH, "Content-Type": "text/plain"}
    )
    assert problem(big, 413, "payload-too-large", "th")["title"] == "ข้อมูลที่ส่งมีขนาดใหญ่เกินไป"


async def test_only_problems_carry_content_language(
    gw: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    ok = await gw.get("/v1/health", headers=TH)
    assert ok.status_code == 200 and "content-language" not in ok.headers
    # A service's problem passes the gateway with its one Content-Language.
    r = await gw.get(
        f"/v1/workers/{uuid.uuid4()}", headers={**tokens.headers("registry:read"), **TH}
    )
    assert r.status_code == 404 and r.headers.get_list("content-language") == ["th"]
