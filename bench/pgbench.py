"""The database's own limit: ``pgbench`` (shipped with the embedded PostgreSQL)
running an endpoint's SQL transaction with the same concurrency, on the same
server, in the same run."""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from otog_devstack.postgres import bin_path

from bench.loadgen import percentile


@dataclass
class PgbenchResult:
    transactions: int
    failed: int
    seconds: float
    tps: float
    latencies: list[float]  # seconds
    clients: int
    script: str

    def as_dict(self) -> dict[str, object]:
        return {
            "transactions": self.transactions,
            "failed": self.failed,
            "seconds": round(self.seconds, 2),
            "tps": round(self.tps, 1),
            "latency_ms": latency_summary(self.latencies),
            "clients": self.clients,
        }


def latency_summary(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    return {
        "p50": round(percentile(latencies, 50) * 1000, 2),
        "p95": round(percentile(latencies, 95) * 1000, 2),
        "p99": round(percentile(latencies, 99) * 1000, 2),
        "max": round(max(latencies) * 1000, 2),
        "mean": round(sum(latencies) / len(latencies) * 1000, 2),
    }


def run(
    port: int,
    database: str,
    script: str,
    *,
    clients: int,
    transactions: int,
    variables: dict[str, str] | None = None,
    timeout: float = 1200.0,
) -> PgbenchResult:
    """``transactions`` in all, spread over ``clients`` connections (as in the
    HTTP run), 2 threads; per-transaction latencies from pgbench's own log."""
    per_client = max(1, transactions // clients)
    with tempfile.TemporaryDirectory(prefix="otog-pgbench-") as tmp:
        script_path = Path(tmp) / "script.sql"
        script_path.write_text(script)
        prefix = Path(tmp) / "tx"
        cmd = [
            str(bin_path("pgbench")),
            "-n",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "-c",
            str(clients),
            "-j",
            "2",
            "-t",
            str(per_client),
            "-f",
            str(script_path),
            "-l",
            f"--log-prefix={prefix}",
            "-D",
            f"per_client={per_client}",
        ]
        for name, value in (variables or {}).items():
            cmd += ["-D", f"{name}={value}"]
        cmd.append(database)
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        seconds = time.perf_counter() - started
        if proc.returncode not in (0, 2):
            raise RuntimeError(f"pgbench failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        latencies: list[float] = []
        failed = 0
        for log in Path(tmp).glob("tx.*"):
            for line in log.read_text().splitlines():
                parts = line.split()
                if len(parts) < 6:
                    continue
                if parts[2] == "failed" or parts[2] == "skipped":
                    failed += 1
                    continue
                latencies.append(int(parts[2]) / 1e6)
        tps_match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", proc.stdout)
        tps = float(tps_match.group(1)) if tps_match else len(latencies) / seconds
        aborted = re.search(r"number of failed transactions: (\d+)", proc.stdout)
        if aborted:
            failed = max(failed, int(aborted.group(1)))
        if proc.returncode == 2:
            # Some clients aborted (an error in the script): counted, never hidden.
            failed = max(failed, per_client * clients - len(latencies))
        return PgbenchResult(
            transactions=len(latencies),
            failed=failed,
            seconds=seconds,
            tps=tps,
            latencies=latencies,
            clients=clients,
            script=script,
        )
