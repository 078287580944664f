"""Workers sign in with the national digital ID and see, book and cancel only their own,
through the real gateway and the three real services."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.conftest import Stack
from tests.loans.conftest import THB, fund_body, today_bkk
from tests.self_service.conftest import AUDIENCE, IdentityProvider
from tests.support.tokens import TokenFactory
from tests.training.helpers import add_member, national_id, session_body

pytestmark = pytest.mark.e2e

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
SUBDISTRICT = "100101"  # Bangkok (10)
PROBLEM = "application/problem+json"


def exchange_form(subject_token: str, client_id: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ID_TOKEN,
        "client_id": client_id,
        **extra,
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Person:
    national_id: str
    worker_id: str
    group_id: str
    loan_id: str


async def register(gw: httpx.AsyncClient, tokens: TokenFactory) -> tuple[str, str]:
    nid = national_id()
    r = await gw.post(
        "/v1/workers",
        json={
            "national_id": nid,
            "first_name_th": "สมใจ",
            "last_name_th": "ทดสอบ",
            "subdistrict_code": SUBDISTRICT,
            "birth_date": "1984-02-11",
        },
        headers=tokens.headers("registry:read", "registry:write"),
    )
    assert r.status_code == 201, r.text
    return nid, str(r.json()["id"])


async def person_with_group_and_loan(
    gw: httpx.AsyncClient, tokens: TokenFactory, fund_id: str, principal_thb: int
) -> Person:
    registrar = tokens.headers("registry:read", "registry:write")
    officer = tokens.headers("loans:read", "loans:write", "loans:approve")
    nid, worker_id = await register(gw, tokens)
    r = await gw.post(
        "/v1/groups",
        json={
            "name_th": f"กลุ่มทอผ้า {uuid.uuid4().hex[:6]}",
            "subdistrict_code": SUBDISTRICT,
            "occupation": "textiles_weaving",
        },
        headers=registrar,
    )
    assert r.status_code == 201, r.text
    group_id = str(r.json()["id"])
    await add_member(gw, tokens, group_id, worker_id)
    r = await gw.post(
        "/v1/loans",
        json={
            "fund_id": fund_id,
            "group_id": group_id,
            "principal_satang": principal_thb * THB,
            "purpose": "Looms",
        },
        headers=officer,
    )
    assert r.status_code == 201, r.text
    loan_id = str(r.json()["id"])
    assert (await gw.post(f"/v1/loans/{loan_id}/approve", headers=officer)).status_code == 200
    r = await gw.post(
        f"/v1/loans/{loan_id}/disburse",
        json={"disbursed_on": today_bkk().isoformat()},
        headers=officer,
    )
    assert r.status_code == 200, r.text
    return Person(nid, worker_id, group_id, loan_id)


async def exchange(
    gw: httpx.AsyncClient, provider: IdentityProvider, client_id: str, pid: str
) -> str:
    r = await gw.post("/v1/oauth/token", data=exchange_form(provider.id_token(pid), client_id))
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


async def test_a_worker_sees_books_and_cancels_only_their_own(
    citizen_stack: Stack,
    identity_provider: IdentityProvider,
    app_client_id: str,
    tokens: TokenFactory,
) -> None:
    trainer = tokens.headers("training:read", "training:write")
    jwks_fetched_before = identity_provider.jwks_requests
    async with httpx.AsyncClient(base_url=citizen_stack.gateway_url, timeout=20) as gw:
        r = await gw.post(
            "/v1/funds",
            json=fund_body(),
            headers=tokens.headers("loans:read", "loans:write", "loans:approve"),
        )
        assert r.status_code == 201, r.text
        fund_id = r.json()["id"]
        somjai = await person_with_group_and_loan(gw, tokens, fund_id, 120_000)
        other = await person_with_group_and_loan(gw, tokens, fund_id, 60_000)

        r = await gw.post("/v1/courses", json=_course(), headers=trainer)
        assert r.status_code == 201, r.text
        course_id = r.json()["id"]
        r = await gw.post("/v1/training-sessions", json=session_body(course_id), headers=trainer)
        assert r.status_code == 201, r.text
        session_id = r.json()["id"]
        r = await gw.post(
            f"/v1/training-sessions/{session_id}/enrollments",
            json={"worker_id": other.worker_id, "group_id": other.group_id},
            headers=trainer,
        )
        assert r.status_code == 201, r.text
        others_seat = r.json()["id"]

        # The exchange: an RFC 8693 answer, not cached, for this worker and this app.
        r = await gw.post(
            "/v1/oauth/token",
            data=exchange_form(identity_provider.id_token(somjai.national_id), app_client_id),
        )
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        body = r.json()
        assert body["issued_token_type"] == ACCESS_TOKEN
        assert body["token_type"] == "Bearer" and body["scope"] == "self"
        assert 0 < body["expires_in"] <= 3600
        claims = jwt.decode(body["access_token"], options={"verify_signature": False})
        assert claims["sub"] == somjai.worker_id
        assert claims["client_id"] == app_client_id
        assert claims["province"] == "10" and claims["scope"] == "self"
        me = bearer(body["access_token"])

        r = await gw.get("/v1/me", headers=me)
        assert r.status_code == 200, r.text
        record = r.json()
        assert record["id"] == somjai.worker_id
        assert record["national_id"] is None
        assert record["national_id_masked"].endswith(somjai.national_id[-1])
        assert somjai.national_id not in r.text

        r = await gw.get("/v1/me/groups", headers=me)
        assert r.status_code == 200, r.text
        assert [m["group_id"] for m in r.json()["items"]] == [somjai.group_id]

        r = await gw.get("/v1/me/loans", headers=me)
        assert r.status_code == 200, r.text
        loans = r.json()["items"]
        assert [loan["id"] for loan in loans] == [somjai.loan_id]
        assert loans[0]["group_id"] == somjai.group_id
        installments = loans[0]["schedule"]["installments"]
        assert len(installments) == 24
        assert sum(i["principal_satang"] for i in installments) == 120_000 * THB

        # Booking: for oneself (worker_id omitted, or one's own), never for another.
        booking = f"/v1/training-sessions/{session_id}/enrollments"
        r = await gw.post(booking, json={"worker_id": other.worker_id}, headers=me)
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith(PROBLEM)
        r = await gw.post(booking, json={"group_id": other.group_id}, headers=me)
        assert r.status_code == 422, r.text
        assert r.json()["type"] == "/problems/not-a-group-member"
        r = await gw.post(booking, json={"group_id": somjai.group_id}, headers=me)
        assert r.status_code == 201, r.text
        own_seat = r.json()
        assert own_seat["worker_id"] == somjai.worker_id
        assert own_seat["group_id"] == somjai.group_id
        r = await gw.post(booking, json={"worker_id": somjai.worker_id}, headers=me)
        assert r.status_code == 409 and r.json()["type"] == "/problems/already-enrolled"

        r = await gw.get("/v1/me/enrollments", headers=me)
        assert r.status_code == 200, r.text
        assert [e["id"] for e in r.json()["items"]] == [own_seat["id"]]

        # Cancelling: another's seat does not exist for this worker; one's own does.
        r = await gw.post(f"/v1/enrollments/{others_seat}/cancel", headers=me)
        assert r.status_code == 404, r.text
        r = await gw.get(f"/v1/enrollments/{others_seat}", headers=trainer)
        assert r.json()["status"] == "confirmed"
        r = await gw.post(f"/v1/enrollments/{own_seat['id']}/cancel", headers=me)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "cancelled"
        r = await gw.get("/v1/me/enrollments", headers=me, params={"status": "cancelled"})
        assert [e["id"] for e in r.json()["items"]] == [own_seat["id"]]

        # An officer must still name the worker.
        r = await gw.post(booking, json={}, headers=trainer)
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "body.worker_id"

        # Elsewhere: a worker books only in their own province, but an officer may book
        # them anywhere, and the seat is then theirs to see and cancel.
        r = await gw.post(
            "/v1/training-sessions",
            json=session_body(course_id, province_code="15"),
            headers=trainer,
        )
        assert r.status_code == 201, r.text
        far_booking = f"/v1/training-sessions/{r.json()['id']}/enrollments"
        r = await gw.post(far_booking, json={}, headers=me)
        assert r.status_code == 404, r.text
        r = await gw.post(far_booking, json={"worker_id": somjai.worker_id}, headers=trainer)
        assert r.status_code == 201, r.text
        far_seat = r.json()["id"]
        r = await gw.get("/v1/me/enrollments", headers=me, params={"status": "confirmed"})
        assert [e["id"] for e in r.json()["items"]] == [far_seat]
        r = await gw.post(f"/v1/enrollments/{far_seat}/cancel", headers=me)
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text

        # The other worker sees only their own.
        theirs = bearer(await exchange(gw, identity_provider, app_client_id, other.national_id))
        r = await gw.get("/v1/me/loans", headers=theirs)
        assert [loan["id"] for loan in r.json()["items"]] == [other.loan_id]
        r = await gw.get("/v1/me/enrollments", headers=theirs)
        assert [e["id"] for e in r.json()["items"]] == [others_seat]
        r = await gw.get("/v1/me", headers=theirs)
        assert r.json()["id"] == other.worker_id

        # Everything else refuses a worker's token, in all three services.
        for method, path in [
            ("GET", f"/v1/workers/{somjai.worker_id}"),
            ("GET", f"/v1/workers/{somjai.worker_id}/memberships"),
            ("GET", f"/v1/groups/{somjai.group_id}"),
            ("GET", "/v1/clients/me"),
            ("GET", "/v1/audit-events"),
            ("GET", f"/v1/training-sessions/{session_id}"),
            ("GET", f"/v1/enrollments/{own_seat['id']}"),
            ("GET", f"/v1/enrollments?worker_id={somjai.worker_id}"),
            ("POST", f"/v1/enrollments/{own_seat['id']}/complete"),
            ("GET", f"/v1/loans/{somjai.loan_id}"),
            ("GET", f"/v1/loans/{somjai.loan_id}/schedule"),
            ("GET", "/v1/funds"),
        ]:
            r = await gw.request(method, path, headers=me)
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert r.headers["content-type"].startswith(PROBLEM)

        # And the `me` routes refuse whoever is not a signed-in worker, admin included.
        for headers in (trainer, tokens.headers("admin"), tokens.headers("self")):
            for path in ("/v1/me", "/v1/me/groups", "/v1/me/enrollments", "/v1/me/loans"):
                r = await gw.get(path, headers=headers)
                assert r.status_code == 403, (path, r.text)
        assert (await gw.get("/v1/me")).status_code == 401

        # The trail names the app and the worker, never the national ID.
        r = await gw.get(
            "/v1/audit-events",
            params={"action": "worker.signed_in", "entity_id": somjai.worker_id},
            headers=tokens.headers("admin"),
        )
        assert r.status_code == 200, r.text
        events = r.json()["items"]
        assert events and all(e["actor"] == app_client_id for e in events)
        assert events[0]["changes"]["client_id"] == app_client_id
        assert somjai.national_id not in r.text

        # The provider's keys were fetched once and then served from the cache.
        assert identity_provider.jwks_requests - jwks_fetched_before <= 1


def _course() -> dict[str, Any]:
    return {
        "code": "SELF" + uuid.uuid4().hex[:6].upper(),
        "title_th": "การออกแบบลายผ้าทอ",
        "title_en": "Woven pattern design",
        "provider": "DSD",
        "hours": 12,
        "modes": ["onsite"],
        "description": "Test course.",
    }


async def test_exchange_refusals(
    citizen_stack: Stack,
    identity_provider: IdentityProvider,
    app_client_id: str,
    tokens: TokenFactory,
) -> None:
    async with httpx.AsyncClient(base_url=citizen_stack.gateway_url, timeout=20) as gw:
        nid, _ = await register(gw, tokens)
        now = int(time.time())
        impostor = ec.generate_private_key(ec.SECP256R1())
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # Each refusal says what is wrong with the token (and never whose it is).
        bad_tokens = {
            "not registered": identity_provider.id_token(national_id()),
            "issuer is not trusted": identity_provider.id_token(nid, iss="https://evil.example"),
            "not issued for this programme": identity_provider.id_token(nid, aud="another"),
            "expired": identity_provider.id_token(nid, iat=now - 900, nbf=now - 900, exp=now - 600),
            "not valid yet": identity_provider.id_token(nid, nbf=now + 600),
            "not valid yet (iat)": identity_provider.id_token(nid, iat=now + 600),
            "is not valid": identity_provider.id_token(nid, key=impostor),
            "does not publish": identity_provider.id_token(nid, key=impostor, kid="other"),
            "is not valid (RS256 over an EC key)": identity_provider.id_token(
                nid, key=rsa_key, algorithm="RS256"
            ),
            "algorithm is not accepted": jwt.encode(
                {"iss": "x", "aud": AUDIENCE, "pid": nid}, "s" * 32, algorithm="HS256"
            ),
            "no valid national ID": identity_provider.id_token(None),
            "no valid national ID (checksum)": identity_provider.id_token("1234567890123"),
            "is not valid (no exp)": identity_provider.id_token(nid, exp=None),
            "not a JWT": "not-a-jwt",
        }
        for why, token in bad_tokens.items():
            r = await gw.post("/v1/oauth/token", data=exchange_form(token, app_client_id))
            assert r.status_code == 400, (why, r.text)
            assert r.headers["content-type"].startswith(PROBLEM), why
            assert r.json()["error"] == "invalid_grant", (why, r.text)
            assert why.split(" (")[0] in r.json()["detail"], (why, r.text)
            assert nid not in r.text

        good = identity_provider.id_token(nid)
        r = await gw.post("/v1/oauth/token", data=exchange_form(good, "otog_unknown"))
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        form = exchange_form(good, app_client_id, subject_token_type=ACCESS_TOKEN)
        r = await gw.post("/v1/oauth/token", data=form)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
        r = await gw.post("/v1/oauth/token", data=exchange_form(good, app_client_id, scope="admin"))
        assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
        r = await gw.post("/v1/oauth/token", data=exchange_form(good, app_client_id))
        assert r.status_code == 200, r.text


async def test_exchange_without_configuration_is_an_unsupported_grant(
    live_stack: Stack, identity_provider: IdentityProvider, app_client_id: str
) -> None:
    async with httpx.AsyncClient(base_url=live_stack.gateway_url, timeout=20) as gw:
        r = await gw.post(
            "/v1/oauth/token",
            data=exchange_form(identity_provider.id_token(national_id()), app_client_id),
        )
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "unsupported_grant_type"
