"""Benchmark: import a generated CSV of N workers (default 1,000,000) into a real
registry process on its own embedded PostgreSQL, and report time and the
registry's peak memory.

    uv run --frozen python bench/registry_import.py [--rows 1000000]

Memory must stay bounded whatever N is: the body is streamed and inserted in
batches, so the peak resident size of the registry should not grow with N.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from otog_devstack.postgres import (
    EmbeddedPostgres,
    asyncpg_url,
    ensure_databases,
    free_port,
    with_database,
)
from otog_devstack.processes import ServiceProcess
from otog_registry.oauth.keys import SigningKey
from otog_shared.migrations import upgrade

HEADER = "national_id,first_name_th,last_name_th,birth_date,subdistrict_code,social_security\n"
SUBDISTRICTS = ["150114", "620413", "802201", "841301", "560101", "100101"]


def check_digit(twelve: str) -> str:
    total = sum(int(d) * (13 - i) for i, d in enumerate(twelve))
    return str((11 - total % 11) % 10)


def generate(rows: int, chunk_rows: int = 2_000) -> Iterator[bytes]:
    yield HEADER.encode()
    lines: list[str] = []
    for i in range(rows):
        twelve = f"{1 + i % 8}{i:011d}"
        nid = twelve + check_digit(twelve)
        lines.append(
            f"{nid},สมชาย{i % 997},ใจดี{i % 13},19{50 + i % 50}-0{1 + i % 9}-1{i % 9},"
            f"{SUBDISTRICTS[i % len(SUBDISTRICTS)]},section_40\n"
        )
        if len(lines) == chunk_rows:
            yield "".join(lines).encode()
            lines = []
    if lines:
        yield "".join(lines).encode()


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="otog-bench-") as tmp:
        root = Path(tmp)
        pg = EmbeddedPostgres(root / "pgdata", free_port(), fast=True)
        pg.start()
        proc: ServiceProcess | None = None
        try:
            ensure_databases(pg.url, ["bench_registry"], recreate=True)
            url = asyncpg_url(with_database(pg.url, "bench_registry"))
            upgrade("otog_registry", url)
            data_dir = root / "data"
            key = SigningKey.load_or_create(data_dir / "jwt-signing-key.pem")
            now = int(time.time())
            token = key.sign(
                {
                    "iss": "otog",
                    "aud": "otog-api",
                    "sub": "bench",
                    "client_id": "bench",
                    "iat": now,
                    "exp": now + 7200,
                    "scope": "registry:read registry:write",
                }
            )
            proc = ServiceProcess(
                "registry",
                "otog_registry.main:create_app",
                free_port(),
                env={
                    "REGISTRY_DATABASE_URL": url,
                    "REGISTRY_DATA_DIR": str(data_dir),
                    "REGISTRY_LOG_LEVEL": "WARNING",
                },
                log_path=root / "registry.log",
            )
            proc.start()
            proc.wait_ready()
            assert proc.proc is not None
            idle_kib = peak_rss_kib(proc.proc.pid)
            started = time.perf_counter()
            response = httpx.post(
                f"{proc.base_url}/v1/workers/import",
                content=generate(args.rows),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
                timeout=3_600,
            )
            elapsed = time.perf_counter() - started
            report = response.json()
            print(
                json.dumps(
                    {
                        "rows": args.rows,
                        "status": response.status_code,
                        "created": report.get("created"),
                        "duplicates": report.get("duplicates"),
                        "rejected_count": report.get("rejected_count"),
                        "seconds": round(elapsed, 1),
                        "rows_per_second": round(args.rows / elapsed),
                        "registry_peak_rss_mib_before": round(idle_kib / 1024, 1),
                        "registry_peak_rss_mib_after": round(peak_rss_kib(proc.proc.pid) / 1024, 1),
                    }
                )
            )
        finally:
            if proc is not None:
                proc.stop()
            pg.stop()


if __name__ == "__main__":
    main()
