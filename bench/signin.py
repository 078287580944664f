"""People's sign-in: the sign-in form (an argon2id password check, a code issued)
and the refresh grant (a rotation: one token spent, its successor stored, an
access token signed), through the gateway; and argon2id's own cost in process."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import asyncpg

from bench.harness import Bench
from bench.loadgen import Request, Response

REDIRECT_URI = "http://127.0.0.1:9/callback"
# A fresh one each run: the accounts exist only in the bench's own database.
PASSWORD = secrets.token_urlsafe(24)
USERS = 50
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _sizes(bench: Bench) -> tuple[int, int]:
    """Sign-ins (each costs a full argon2id hash, ~75 ms of a core) and refreshes."""
    sign_ins = min(max(bench.sizes.token_requests // 3, 12), 1000)
    return sign_ins, bench.sizes.token_requests


async def signin(bench: Bench) -> None:
    sign_ins, refreshes = _sizes(bench)
    bench.log(f"signin: {sign_ins} sign-ins, {refreshes} refreshes")
    app = await bench.call(
        "POST",
        "/v1/clients",
        json={
            "name": "bench app",
            "type": "public",
            "redirect_uris": [REDIRECT_URI],
            "scopes": ["registry:read"],
        },
    )
    client_id = app["client_id"]
    users = []
    accounts = min(USERS, sign_ins)
    for i in range(accounts):
        user = await bench.call(
            "POST",
            "/v1/users",
            json={
                "username": f"bench.{uuid.uuid4().hex[:8]}.{i}",
                "display_name": "bench",
                "scopes": ["registry:read"],
                "province": "10",
            },
        )
        await bench.call(
            "PUT",
            f"/v1/users/{user['username']}/password",
            json={"password": PASSWORD},
            expect=[204],
        )
        users.append(user)

    # One page view gives a CSRF cookie and field good for an hour, for any account.
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "registry:read",
            "state": "bench",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
    )
    path = f"/v1/oauth/authorize?{query}"
    page = await bench.http.get(path)
    page.raise_for_status()
    found = CSRF_FIELD.search(page.text)
    if found is None:
        raise RuntimeError("the sign-in page has no CSRF field")
    cookie = f"otog_signin_csrf={page.cookies['otog_signin_csrf']}"
    forms = [
        Request(
            "POST",
            path,
            urlencode(
                {
                    "username": users[i % accounts]["username"],
                    "password": PASSWORD,
                    "csrf_token": found.group(1),
                }
            ).encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": cookie,
                "Authorization": "",
            },
        )
        for i in range(sign_ins)
    ]
    redirected: list[int] = []

    def on_sign_in(_i: int, _a: int, _r: Request, resp: Response) -> None:
        if resp.status == 302 and "code=" in resp.headers.get("location", ""):
            redirected.append(1)

    await bench.measure(
        "signin",
        "sign in (password check, code)",
        forms,
        concurrency=20,
        expected=[302],
        on_response=on_sign_in,
        note="POST /v1/oauth/authorize: argon2id verify in a worker thread, audit, code",
    )
    bench.check(
        "signin",
        "every sign-in redirected with a code",
        len(redirected) == sign_ins,
        len(redirected),
    )

    # Refresh tokens as the code exchange writes them (one family each), written with
    # SQL to spare the minutes of as many sign-ins.
    tokens = [f"otog_rt_{secrets.token_urlsafe(32)}" for _ in range(refreshes)]
    client_row = await bench.sql_value(
        "registry", "SELECT id FROM api_clients WHERE client_id = $1", client_id
    )
    rows = [
        (
            uuid.uuid4(),
            hashlib.sha256(t.encode()).hexdigest(),
            uuid.uuid4(),
            client_row,
            uuid.UUID(users[i % accounts]["id"]),
        )
        for i, t in enumerate(tokens)
    ]
    conn = await asyncpg.connect(bench.stack.db_url("registry"))
    try:
        await conn.executemany(
            "INSERT INTO refresh_tokens (id, token_hash, family_id, client_id, user_id, scopes,"
            " expires_at) VALUES ($1, $2, $3, $4, $5, ARRAY['registry:read'],"
            " now() + interval '1 day')",
            rows,
        )
    finally:
        await conn.close()
    refresh = [
        Request(
            "POST",
            "/v1/oauth/token",
            urlencode(
                {"grant_type": "refresh_token", "refresh_token": t, "client_id": client_id}
            ).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""},
        )
        for t in tokens
    ]
    await bench.measure(
        "signin",
        "refresh (rotation)",
        refresh,
        concurrency=min(50, bench.sizes.concurrency),
        expected=[200],
        note="POST /v1/oauth/token grant_type=refresh_token: spend, store successor, sign",
    )
    used = await bench.sql_value(
        "registry",
        "SELECT count(*) FROM refresh_tokens WHERE client_id = $1 AND used_at IS NOT NULL",
        client_row,
    )
    bench.check("signin", "every refresh token spent once", used == refreshes, used)
    bench.record("signin", "argon2id in process", argon2_cost())


def argon2_cost(samples: int = 10) -> dict[str, Any]:
    """One argon2id verification with the registry's parameters, CPU and wall time."""
    from argon2 import PasswordHasher, Type
    from otog_registry.settings import RegistrySettings

    settings = RegistrySettings()
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        type=Type.ID,
    )
    stored = hasher.hash(PASSWORD)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(samples):
        hasher.verify(stored, PASSWORD)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {
        "kind": "cpu",
        "time_cost": settings.argon2_time_cost,
        "memory_kib": settings.argon2_memory_kib,
        "parallelism": settings.argon2_parallelism,
        "verify_cpu_ms": round(cpu / samples * 1000, 1),
        "verify_wall_ms": round(wall / samples * 1000, 1),
        "samples": samples,
    }
