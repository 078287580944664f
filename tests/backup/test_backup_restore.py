"""A backup restored into a new, empty PostgreSQL server is the same system:
same rows, same trial balance, clients still sign in, national IDs still found."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from otog_devstack.backup import BackupError, Source, backup, read_manifest, restore
from otog_devstack.postgres import (
    EmbeddedPostgres,
    asyncpg_url,
    ensure_databases,
    free_port,
    plain_url,
    with_database,
)
from otog_devstack.processes import ServiceProcess
from otog_devstack.stack import SERVICES
from otog_registry.cli import create_client_in
from otog_shared.migrations import upgrade

from tests.loans.conftest import BANGKOK, THB, fund_body
from tests.registry.conftest import worker_body
from tests.support.stack import start_service

pytestmark = pytest.mark.e2e


async def _counts(urls: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, url in urls.items():
        conn = await asyncpg.connect(plain_url(url))
        try:
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
            for t in tables:
                # Names from pg_tables, not from input.
                n = await conn.fetchval(f'SELECT count(*) FROM "{t["tablename"]}"')  # noqa: S608
                counts[f"{name}.{t['tablename']}"] = int(n)
        finally:
            await conn.close()
    return counts


def _token(registry: str, client: dict[str, Any]) -> dict[str, str]:
    r = httpx.post(
        f"{registry}/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _start_pair(
    urls: dict[str, str], data_dir: Path, log_dir: Path, loans_env: dict[str, str]
) -> list[ServiceProcess]:
    registry = start_service(
        "registry", urls["registry"], port=free_port(), data_dir=data_dir, log_dir=log_dir
    )
    try:
        loans = start_service(
            "loan-ledger",
            urls["loan-ledger"],
            port=free_port(),
            data_dir=data_dir,
            log_dir=log_dir,
            registry_url=registry.base_url,
            extra_env=loans_env,
        )
    except Exception:
        registry.stop()
        raise
    return [registry, loans]


def _create_data(registry: str, loans: str, office: dict[str, str]) -> dict[str, Any]:
    """Workers with national IDs, a group of them, a disbursed loan with two repayments."""
    with httpx.Client(timeout=20) as http:
        workers = []
        for _ in range(3):
            body = worker_body()
            r = http.post(f"{registry}/v1/workers", json=body, headers=office)
            assert r.status_code == 201, r.text
            workers.append({"id": r.json()["id"], "national_id": body["national_id"]})
        r = http.post(
            f"{registry}/v1/groups",
            json={
                "name_th": "กลุ่มแปรรูปข้าวบ้านนาเดิม",
                "subdistrict_code": BANGKOK,
                "occupation": "food_processing",
            },
            headers=office,
        )
        assert r.status_code == 201, r.text
        group = r.json()
        for w in workers:
            r = http.post(
                f"{registry}/v1/groups/{group['id']}/members",
                json={"worker_id": w["id"]},
                headers=office,
            )
            assert r.status_code == 201, r.text

        r = http.post(f"{loans}/v1/funds", json=fund_body(), headers=office)
        assert r.status_code == 201, r.text
        fund = r.json()
        r = http.post(
            f"{loans}/v1/loans",
            json={
                "fund_id": fund["id"],
                "group_id": group["id"],
                "principal_satang": 150_000 * THB,
                "purpose": "Rice mill",
            },
            headers=office,
        )
        assert r.status_code == 201, r.text
        loan = r.json()
        r = http.post(f"{loans}/v1/loans/{loan['id']}/approve", headers=office)
        assert r.status_code == 200, r.text
        r = http.post(
            f"{loans}/v1/loans/{loan['id']}/disburse",
            json={"disbursed_on": "2025-01-31"},
            headers=office,
        )
        assert r.status_code == 200, r.text
        for paid_on in ("2025-02-20", "2025-03-25"):
            r = http.post(
                f"{loans}/v1/loans/{loan['id']}/repayments",
                json={"amount_satang": 6_250 * THB, "paid_on": paid_on},
                headers={**office, "Idempotency-Key": str(uuid.uuid4())},
            )
            assert r.status_code == 201, r.text
    return {"workers": workers, "group": group, "fund": fund, "loan": loan}


def _trial_balance(loans: str, fund_id: str, headers: dict[str, str]) -> dict[str, Any]:
    r = httpx.get(f"{loans}/v1/funds/{fund_id}/trial-balance", headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["balanced"] and body["reconciled"]
    return body


@pytest.mark.slow
def test_a_backup_restores_into_an_empty_server(
    pg_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.mktemp("backup")
    logs = base / "logs"
    logs.mkdir()
    source_urls = {
        s.name: asyncpg_url(with_database(pg_server_url, f"backup_src_{s.database}"))
        for s in SERVICES
    }
    ensure_databases(pg_server_url, [f"backup_src_{s.database}" for s in SERVICES], recreate=True)
    for s in SERVICES:
        upgrade(s.package, source_urls[s.name])
    source_data = base / "source-data"

    loans_client = create_client_in(
        source_urls["registry"], name="loan-ledger service", scopes=["registry:read"], province=None
    )
    loans_env = {
        "LOANS_REGISTRY_CLIENT_ID": loans_client["client_id"],
        "LOANS_REGISTRY_CLIENT_SECRET": loans_client["client_secret"],
    }
    office_client = create_client_in(
        source_urls["registry"],
        name="Bangkok employment office",
        scopes=[
            "registry:read",
            "registry:write",
            "pii:read",
            "loans:read",
            "loans:write",
            "loans:approve",
        ],
        province=None,
    )

    procs = _start_pair(source_urls, source_data, logs, loans_env)
    try:
        registry, loans = (p.base_url for p in procs)
        office = _token(registry, office_client)
        made = _create_data(registry, loans, office)
        trial_before = _trial_balance(loans, made["fund"]["id"], office)
        # Taken while the services run: the snapshots, not a pause, make it consistent.
        directory = backup(Source(source_urls, source_data), base / "backups")
    finally:
        for p in reversed(procs):
            p.stop()
    counts_before = asyncio.run(_counts(source_urls))
    assert counts_before["registry.workers"] >= 3
    assert counts_before["loan-ledger.repayments"] == 2

    manifest = read_manifest(directory)
    assert set(manifest["databases"]) == {s.name for s in SERVICES}
    assert all(e["alembic_revision"] for e in manifest["databases"].values())
    assert {"jwt-signing-key.pem", "pii-keys.json"} <= set(manifest["keys"])
    assert (directory / "keys" / "pii-keys.json").stat().st_mode & 0o077 == 0

    target = EmbeddedPostgres(base / "target" / "pgdata", free_port(), fast=True)
    target.start()
    try:
        target_data = base / "target-data"
        restore(directory, target.url, target_data)
        target_urls = {s.name: asyncpg_url(with_database(target.url, s.database)) for s in SERVICES}
        assert asyncio.run(_counts(target_urls)) == counts_before

        # A second restore would overwrite what is there now: refused unless forced.
        with pytest.raises(BackupError, match="not empty"):
            restore(directory, target.url, target_data)

        procs = _start_pair(target_urls, target_data, logs, loans_env)
        try:
            registry, loans = (p.base_url for p in procs)
            # A new login of a client created before the backup: its secret's hash
            # came along, and the token is signed with the restored key.
            office = _token(registry, office_client)
            assert _trial_balance(loans, made["fund"]["id"], office) == trial_before
            # The loan ledger calls the restored registry with its own restored client.
            r = httpx.get(f"{loans}/v1/loans/{made['loan']['id']}", headers=office)
            assert r.status_code == 200 and r.json()["status"] == "active", r.text
            for worker in made["workers"]:
                # Decrypted with the restored key…
                r = httpx.get(f"{registry}/v1/workers/{worker['id']}", headers=office)
                assert r.status_code == 200, r.text
                assert r.json()["national_id"] == worker["national_id"]
                # …and found through the keyed hash: both personal-data keys came along.
                r = httpx.post(
                    f"{registry}/v1/workers/search",
                    json={"national_id": worker["national_id"]},
                    headers=office,
                )
                assert r.status_code == 200 and r.json()["id"] == worker["id"], r.text
        finally:
            for p in reversed(procs):
                p.stop()
    finally:
        target.stop()


def test_a_damaged_backup_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "otog_registry.dump").write_bytes(b"archive")
    manifest = {
        "format": 1,
        "databases": {
            "registry": {
                "database": "otog_registry",
                "file": "otog_registry.dump",
                "sha256": "0" * 64,
            }
        },
        "keys": {},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="checksum"):
        read_manifest(tmp_path)
    with pytest.raises(BackupError, match="no manifest"):
        read_manifest(tmp_path / "keys")
