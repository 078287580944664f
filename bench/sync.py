# ruff: noqa: S311
"""Delta sync of one province: from empty, and again after 1% of it changed.

The province's workers and groups are written with SQL (COPY), as the API writes them,
national IDs encrypted with the registry's own keys; the change log's triggers record
them as they would any write. A provincial client then syncs both collections through
the gateway, 1,000 items a page, as an app would: time, pages and bytes.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import date
from typing import Any

import asyncpg

from bench.data import national_id
from bench.harness import Bench
from bench.scenarios import registry_protector, subdistricts

SYNC_PROVINCE = "96"  # Narathiwat: no other scenario fills it on purpose
OTHER_PLACE = ("100101", "1001", "10")  # where 0.2% of the workers move (tombstones)
SYNC_PREFIX = 5  # national-ID prefix of this scenario's workers
PAGE = 1_000


async def _load(bench: Bench, workers: int, groups: int, places: list[str]) -> float:
    protector = registry_protector(bench)
    t0 = time.perf_counter()
    conn = await asyncpg.connect(bench.stack.db_url("registry"))
    try:
        batch = 20_000
        for start in range(0, workers, batch):
            nids = [
                national_id(n, prefix=SYNC_PREFIX)
                for n in range(start, min(start + batch, workers))
            ]
            sealed = protector.encrypt_many(nids)
            records = []
            for i, (nid, blob) in enumerate(zip(nids, sealed, strict=True)):
                place = places[(start + i) % len(places)]
                records.append(
                    (
                        uuid.uuid4(),
                        protector.lookup_hash(nid),
                        blob,
                        "สมศรี",
                        "ใจดี",
                        date(1980, 1, 1 + (start + i) % 28),
                        place,
                        place[:4],
                        place[:2],
                        "unknown",
                        "public_task",
                        1,
                        "benchmark",
                    )
                )
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "workers",
                    records=records,
                    columns=[
                        "id",
                        "national_id_hmac",
                        "national_id_encrypted",
                        "first_name_th",
                        "last_name_th",
                        "birth_date",
                        "subdistrict_code",
                        "district_code",
                        "province_code",
                        "social_security",
                        "pdpa_basis",
                        "version",
                        "created_by",
                    ],
                )
        await conn.execute(
            """
            INSERT INTO groups (id, name_th, occupation, subdistrict_code, district_code,
                                province_code, status, version, created_by)
            SELECT gen_random_uuid(), 'กลุ่มอาชีพ ' || g, 'handicraft', p[1 + g % cardinality(p)],
                   left(p[1 + g % cardinality(p)], 4), $3, 'registered', 1, 'benchmark'
            FROM generate_series(1, $1) AS g, (SELECT $2::text[] AS p) AS places
            """,
            groups,
            places,
            SYNC_PROVINCE,
        )
        await conn.execute("ANALYZE workers; ANALYZE groups; ANALYZE sync_changes")
    finally:
        await conn.close()
    return time.perf_counter() - t0


async def _token(bench: Bench) -> dict[str, str]:
    creds = await bench.create_client_for_province("sync app", ["registry:read"], SYNC_PROVINCE)
    r = await bench.http.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _sync(
    bench: Bench,
    headers: dict[str, str],
    collection: str,
    cursor: str | None,
    copy: dict[str, Any],
) -> dict[str, Any]:
    pages = items = tombstones = wire = body = 0
    t0 = time.perf_counter()
    while True:
        params: dict[str, Any] = {"limit": PAGE}
        if cursor:
            params["cursor"] = cursor
        r = await bench.http.get(
            f"/v1/sync/{collection}",
            params=params,
            headers={**headers, "Accept-Encoding": "gzip"},
        )
        if r.status_code != 200:
            raise RuntimeError(f"sync {collection} → {r.status_code}: {r.text[:300]}")
        wire += r.num_bytes_downloaded
        body += len(r.content)
        page = r.json()
        pages += 1
        for item in page["items"]:
            items += 1
            if item["deleted"]:
                tombstones += 1
                copy.pop(item["id"], None)
            else:
                copy[item["id"]] = item["data"]
        cursor = page["next_cursor"]
        if page["complete"]:
            break
    seconds = time.perf_counter() - t0
    return {
        "kind": "sync",
        "collection": collection,
        "seconds": round(seconds, 2),
        "pages": pages,
        "items": items,
        "tombstones": tombstones,
        "items_per_second": round(items / seconds) if seconds else None,
        "bytes_on_the_wire": wire,
        "bytes_of_json": body,
        "cursor": cursor,
    }


async def _change_one_percent(bench: Bench, workers: int, groups: int) -> dict[str, int]:
    """1% of the province's workers and groups change: most renamed, a fifth of the
    workers moved out of the province (tombstones for the device)."""
    rng = random.Random(14)
    ids = [
        r[0]
        for r in await bench.sql(
            "registry",
            "SELECT id FROM workers WHERE province_code = $1 AND created_by = 'benchmark'",
            SYNC_PROVINCE,
        )
    ]
    changed = rng.sample(ids, max(1, workers // 100))
    moved = changed[: len(changed) // 5]
    renamed = changed[len(changed) // 5 :]
    await bench.sql(
        "registry",
        "UPDATE workers SET first_name_th = 'สมหญิง', version = version + 1 WHERE id = ANY($1)",
        renamed,
    )
    await bench.sql(
        "registry",
        "UPDATE workers SET subdistrict_code = $2, district_code = $3, province_code = $4,"
        " version = version + 1 WHERE id = ANY($1)",
        moved,
        *OTHER_PLACE,
    )
    group_ids = [
        r[0]
        for r in await bench.sql(
            "registry", "SELECT id FROM groups WHERE province_code = $1", SYNC_PROVINCE
        )
    ]
    await bench.sql(
        "registry",
        "UPDATE groups SET name_en = 'Renamed', version = version + 1 WHERE id = ANY($1)",
        rng.sample(group_ids, max(1, groups // 100)),
    )
    return {"workers_renamed": len(renamed), "workers_moved_out": len(moved)}


async def sync(bench: Bench) -> None:
    s = bench.sizes
    bench.log(
        f"sync: province {SYNC_PROVINCE}, {s.sync_workers:,} workers, {s.sync_groups:,} groups"
    )
    places = await subdistricts(bench, SYNC_PROVINCE)
    seconds = await _load(bench, s.sync_workers, s.sync_groups, places)
    log_rows = await bench.sql_value("registry", "SELECT count(*) FROM sync_changes")
    bench.record(
        "sync",
        "load with SQL (triggers recording the change log)",
        {
            "kind": "load",
            "workers": s.sync_workers,
            "groups": s.sync_groups,
            "seconds": round(seconds, 1),
            "change_log_rows": log_rows,
        },
    )
    bench.log(f"  sync/load: {seconds:.1f} s")
    headers = await _token(bench)
    copies: dict[str, dict[str, Any]] = {"workers": {}, "groups": {}}
    cursors: dict[str, str] = {}
    for collection in ("workers", "groups"):
        step = await _sync(bench, headers, collection, None, copies[collection])
        cursors[collection] = step.pop("cursor")
        bench.record("sync", f"{collection}: from empty", step)
        bench.log(
            f"  sync/{collection} from empty: {step['items']:,} items in {step['seconds']} s, "
            f"{step['bytes_on_the_wire']:,} bytes on the wire"
        )
    changes = await _change_one_percent(bench, s.sync_workers, s.sync_groups)
    for collection in ("workers", "groups"):
        step = await _sync(bench, headers, collection, cursors[collection], copies[collection])
        step.pop("cursor")
        bench.record("sync", f"{collection}: after 1% changed", {**step, **changes})
        bench.log(
            f"  sync/{collection} after 1% changed: {step['items']:,} items "
            f"({step['tombstones']:,} tombstones) in {step['seconds']} s, "
            f"{step['bytes_on_the_wire']:,} bytes on the wire"
        )
    for collection in ("workers", "groups"):
        count = await bench.sql_value(
            "registry",
            f"SELECT count(*) FROM {collection} WHERE province_code = $1",  # noqa: S608
            SYNC_PROVINCE,
        )
        renamed = sum(
            1
            for item in copies[collection].values()
            if item.get("first_name_th") == "สมหญิง" or item.get("name_en") == "Renamed"
        )
        bench.check(
            "sync",
            f"the device's {collection} are the province's",
            len(copies[collection]) == count and renamed > 0,
            {"device": len(copies[collection]), "server": count, "changed_seen": renamed},
        )
