"""Stored first answers are sealed in the registry: no national ID, no webhook secret
at rest in clear, in either table that keeps answers for re-sends.

In process, against the rolled-back transaction: the rows are read straight from
PostgreSQL through the request's own connection.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from otog_shared.idempotency.sealing import SEALED, AesGcmSealer, StoredAnswerUnreadable
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.registry.conftest import worker_body
from tests.support.stack import Databases, app_client
from tests.support.tokens import TokenFactory

Pair = tuple[httpx.AsyncClient, AsyncSession]
HOOK_URL = "https://partner.example/otog/hooks"


@pytest_asyncio.fixture(scope="module")
async def sealing_app(databases: Databases, data_dir: Path) -> AsyncIterator[FastAPI]:
    from otog_registry.main import create_app
    from otog_registry.settings import RegistrySettings

    app = create_app(
        RegistrySettings(
            database_url=databases.urls["registry"],
            data_dir=data_dir,
            log_json=False,
            import_write_lanes=1,
            events_collect=False,
            # A webhook's target must resolve to a public address.
            webhook_resolve={"partner.example": ["93.184.215.14"]},
        )
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture
async def http(sealing_app: FastAPI) -> AsyncIterator[Pair]:
    async with app_client(sealing_app) as pair:
        yield pair


@pytest.fixture
def pii_writer(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers("registry:read", "registry:write", "pii:read", client_id="sealing")


async def stored_by_key(session: AsyncSession, key: str) -> bytes:
    body: bytes = (
        await session.execute(
            text("SELECT response_body FROM idempotency_keys WHERE key = :key"), {"key": key}
        )
    ).scalar_one()
    return body


async def stored_by_id(session: AsyncSession, id_: str) -> bytes:
    body: bytes = (
        await session.execute(
            text("SELECT response_body FROM created_resources WHERE id = :id"),
            {"id": uuid.UUID(id_)},
        )
    ).scalar_one()
    return body


async def create_twice_stored(
    http: httpx.AsyncClient,
    session: AsyncSession,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
) -> tuple[httpx.Response, str, str, list[bytes]]:
    """A create sent with an Idempotency-Key and an id; its answer, the key, the id and
    the two stored bodies. Re-sends by key and by id give the first answer's bytes."""
    key, id_ = str(uuid.uuid4()), str(uuid.uuid4())
    first = await http.post(
        url, json={**body, "id": id_}, headers={**headers, "Idempotency-Key": key}
    )
    assert first.status_code == 201, first.text
    by_key = await http.post(
        url, json={**body, "id": id_}, headers={**headers, "Idempotency-Key": key}
    )
    assert by_key.headers["idempotent-replayed"] == "true"
    assert by_key.content == first.content
    by_id = await http.post(
        url, json={**body, "id": id_}, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert by_id.status_code == 201
    assert by_id.content == first.content
    stored = [await stored_by_key(session, key), await stored_by_id(session, id_)]
    for blob in stored:
        assert blob.startswith(SEALED)
        assert first.content not in blob
    return first, key, id_, stored


async def test_a_workers_national_id_is_not_stored_in_clear(
    http: Pair, pii_writer: dict[str, str]
) -> None:
    client, session = http
    body = worker_body()
    national_id = body["national_id"]
    first, *_, stored = await create_twice_stored(client, session, "/v1/workers", body, pii_writer)
    # The answer holds it (the caller may read it), the stored bytes do not.
    assert first.json()["national_id"] == national_id
    for blob in stored:
        assert national_id.encode() not in blob
        assert b"national_id" not in blob


async def test_a_webhooks_secret_is_not_stored_in_clear(http: Pair, tokens: TokenFactory) -> None:
    client, session = http
    headers = tokens.headers("registry:read", client_id="sealing-partner")
    first, *_, stored = await create_twice_stored(
        client, session, "/v1/webhooks", {"url": HOOK_URL, "event_types": ["*"]}, headers
    )
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    for blob in stored:
        assert b"whsec_" not in blob
        assert secret.removeprefix("whsec_").encode() not in blob


async def test_a_sealed_answer_moved_to_another_record_does_not_open(
    http: Pair, pii_writer: dict[str, str]
) -> None:
    client, session = http
    one, _, _, (one_by_key, one_by_id) = await create_twice_stored(
        client, session, "/v1/workers", worker_body(), pii_writer
    )
    other_body = worker_body()
    _, key, id_, _ = await create_twice_stored(
        client, session, "/v1/workers", other_body, pii_writer
    )
    # Someone with write access to the tables puts one worker's answer in the other's
    # rows, hoping a re-send of the second shows the first's national ID.
    await session.execute(
        text("UPDATE idempotency_keys SET response_body = :b WHERE key = :key"),
        {"b": one_by_key, "key": key},
    )
    await session.execute(
        text("UPDATE created_resources SET response_body = :b WHERE id = :id"),
        {"b": one_by_id, "id": uuid.UUID(id_)},
    )
    # Kept when a refused request rolls its own work back (the test's transaction
    # is still rolled back at the end).
    await session.commit()
    resend = {**other_body, "id": id_}
    by_key = await client.post(
        "/v1/workers", json=resend, headers={**pii_writer, "Idempotency-Key": key}
    )
    assert by_key.status_code == 422, by_key.text
    assert by_key.headers["content-type"].startswith("application/problem+json")
    assert by_key.json()["type"] == "/problems/idempotency-key-reused"
    by_id = await client.post(
        "/v1/workers", json=resend, headers={**pii_writer, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert by_id.status_code == 409, by_id.text
    assert by_id.headers["content-type"].startswith("application/problem+json")
    assert by_id.json()["type"] == "/problems/id-conflict"
    thai = await client.post(
        "/v1/workers",
        json=resend,
        headers={**pii_writer, "Idempotency-Key": key, "Accept-Language": "th"},
    )
    assert thai.json()["detail"].startswith("Idempotency-Key นี้ถูกใช้ไปแล้ว")
    for answer in (by_key, by_id, thai):
        assert one.json()["national_id"] not in answer.text


async def test_answers_stored_before_sealing_are_still_given(
    http: Pair, pii_writer: dict[str, str]
) -> None:
    client, session = http
    body = worker_body()
    first, key, id_, _ = await create_twice_stored(client, session, "/v1/workers", body, pii_writer)
    # Rows written before sealing was configured hold the answer's UTF-8 as sent.
    await session.execute(
        text("UPDATE idempotency_keys SET response_body = :b WHERE key = :key"),
        {"b": first.content, "key": key},
    )
    await session.execute(
        text("UPDATE created_resources SET response_body = :b WHERE id = :id"),
        {"b": first.content, "id": uuid.UUID(id_)},
    )
    await session.commit()
    resend = {**body, "id": id_}
    by_key = await client.post(
        "/v1/workers", json=resend, headers={**pii_writer, "Idempotency-Key": key}
    )
    assert by_key.status_code == 201 and by_key.content == first.content
    by_id = await client.post(
        "/v1/workers", json=resend, headers={**pii_writer, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert by_id.status_code == 201 and by_id.content == first.content
    assert json.loads(by_id.content)["national_id"] == body["national_id"]


def test_keys_rotate_by_the_id_each_body_names() -> None:
    old, new = bytes(range(32)), bytes(range(1, 33))
    sealed_before = AesGcmSealer({1: old}, current=1).seal(b'{"a":1}', b"record")
    assert sealed_before[0] == 1
    rotated = AesGcmSealer({1: old, 2: new}, current=2)
    sealed_after = rotated.seal(b'{"a":1}', b"record")
    assert sealed_after[0] == 2
    assert rotated.open(sealed_before, b"record") == b'{"a":1}'
    assert rotated.open(sealed_after, b"record") == b'{"a":1}'
    with pytest.raises(StoredAnswerUnreadable):
        rotated.open(sealed_after, b"another record")
    # A key retired from the ring: its bodies no longer open (they are refused, not shown).
    with pytest.raises(StoredAnswerUnreadable):
        AesGcmSealer({2: new}, current=2).open(sealed_before, b"record")
