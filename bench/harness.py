"""What every scenario uses: the running stack, tokens, set-up calls, measured
steps (HTTP load through the gateway) and pgbench steps, with their figures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import loadgen, pgbench, procs, profiling
from bench.pgbench import latency_summary
from bench.stack import BenchStack

TOKEN_REFRESH_SECONDS = 600.0
TOP_STATEMENTS = int(__import__("os").environ.get("OTOG_BENCH_TOP_STATEMENTS", "8"))


@dataclass
class Sizes:
    """How much each scenario does in a mode."""

    seat_attempts: int
    seat_capacity: int
    concurrency: int
    loans: int
    loans_fundable: int
    repayments: int
    retry_share: float
    import_workers: int
    groups: int
    lookups: int
    token_requests: int
    # Groups registered through the API (measured); the rest of ``groups`` is
    # copied in with SQL, since a listing only needs the rows to be there.
    groups_via_api: int = 2_000
    import_chunk_rows: int = 1_000_000
    # One province for delta sync (bench/sync.py).
    sync_workers: int = 20_000
    sync_groups: int = 1_000


# quick: the concurrency and per-scenario shapes in under five minutes
# (fewer attempts, loans and lookups); full: the figures.
MODES: dict[str, Sizes] = {
    "tiny": Sizes(
        24,
        6,
        6,
        12,
        7,
        30,
        0.1,
        500,
        40,
        24,
        12,
        groups_via_api=20,
        sync_workers=500,
        sync_groups=25,
    ),
    "quick": Sizes(
        seat_attempts=2_000,
        seat_capacity=500,
        concurrency=200,
        loans=250,
        loans_fundable=150,
        repayments=1_500,
        retry_share=0.1,
        import_workers=100_000,
        groups=100_000,
        lookups=3_000,
        token_requests=1_000,
        groups_via_api=1_000,
    ),
    "full": Sizes(
        seat_attempts=10_000,
        seat_capacity=500,
        concurrency=200,
        loans=1_000,
        loans_fundable=600,
        repayments=20_000,
        retry_share=0.1,
        import_workers=1_000_000,
        groups=100_000,
        lookups=20_000,
        token_requests=10_000,
        groups_via_api=10_000,
        sync_workers=100_000,
        sync_groups=5_000,
    ),
}


@dataclass
class Step:
    """One measured line of the results table."""

    scenario: str
    name: str
    data: dict[str, Any] = field(default_factory=dict)


class Bench:
    def __init__(
        self,
        stack: BenchStack,
        sizes: Sizes,
        *,
        log: Any = print,
        profile_dir: Path | None = None,
        run_name: str = "bench",
    ) -> None:
        self.stack = stack
        self.sizes = sizes
        self.log = log
        # Where py-spy's profiles of the steps that name a service go; None: no profiles.
        self.profile_dir = profile_dir
        self.run_name = run_name
        self.steps: list[Step] = []
        self.checks: dict[str, dict[str, Any]] = {}
        self._token: str | None = None
        self._token_at = 0.0
        self.client_id = ""
        self.client_secret = ""
        self.http = httpx.AsyncClient(base_url=stack.gateway_url, timeout=900.0)

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- auth ---------------------------------------------------------------

    async def create_client(self, name: str, scopes: list[str]) -> dict[str, Any]:
        from otog_registry.cli import _create

        created: dict[str, Any] = await _create(self.stack.urls["registry"], name, scopes, None)
        return created

    async def create_client_for_province(
        self, name: str, scopes: list[str], province: str
    ) -> dict[str, Any]:
        from otog_registry.cli import _create

        created: dict[str, Any] = await _create(self.stack.urls["registry"], name, scopes, province)
        return created

    async def ensure_client(self) -> None:
        if not self.client_id:
            creds = await self.create_client("benchmark", ["admin"])
            self.client_id = creds["client_id"]
            self.client_secret = creds["client_secret"]

    async def token(self) -> str:
        await self.ensure_client()
        if self._token is None or time.monotonic() - self._token_at > TOKEN_REFRESH_SECONDS:
            r = await self.http.post(
                "/v1/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                },
            )
            r.raise_for_status()
            self._token = str(r.json()["access_token"])
            self._token_at = time.monotonic()
        return self._token

    async def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token()}"}

    # --- set-up calls -------------------------------------------------------

    async def call(
        self, method: str, path: str, *, expect: Sequence[int] = (200, 201), **kwargs: Any
    ) -> Any:
        headers = {**(await self.auth()), **kwargs.pop("headers", {})}
        r = await self.http.request(method, path, headers=headers, **kwargs)
        if r.status_code not in expect:
            raise RuntimeError(f"{method} {path} → {r.status_code}: {r.text[:500]}")
        return r.json() if r.content else None

    async def sql(self, service: str, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.stack.db_url(service))
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def sql_value(self, service: str, query: str, *args: Any) -> Any:
        rows = await self.sql(service, query, *args)
        return rows[0][0] if rows else None

    # --- statement statistics -----------------------------------------------

    async def _stats_conn(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.stack.server_url)
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return conn

    async def reset_statements(self) -> None:
        conn = await self._stats_conn()
        try:
            await conn.execute("SELECT pg_stat_statements_reset()")
        finally:
            await conn.close()

    async def statement_totals(self) -> list[asyncpg.Record]:
        """Every statement of the services' databases since the last reset: datname,
        query, calls, total_exec_time."""
        conn = await self._stats_conn()
        try:
            return list(
                await conn.fetch(
                    "SELECT d.datname, s.query, sum(s.calls)::float8 AS calls,"
                    " sum(s.total_exec_time) AS total_exec_time"
                    " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
                    " WHERE d.datname LIKE 'otog_%' GROUP BY 1, 2"
                )
            )
        finally:
            await conn.close()

    async def statements(self, database: str | None = None) -> dict[str, Any]:
        """Statements run since the last reset, per service database: how many,
        and the ones that took the most time."""
        conn = await self._stats_conn()
        try:
            rows = await conn.fetch(
                """
                SELECT d.datname, s.calls, s.rows, s.total_exec_time, s.query
                FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
                WHERE d.datname LIKE 'otog_%' AND s.query NOT LIKE '%pg_stat_statements%'
                """
            )
        finally:
            await conn.close()
        out: dict[str, Any] = {}
        for db in sorted({r["datname"] for r in rows}):
            if database and db != database:
                continue
            mine = [r for r in rows if r["datname"] == db]
            top = sorted(mine, key=lambda r: r["total_exec_time"], reverse=True)[:TOP_STATEMENTS]
            out[db] = {
                "statements": int(sum(r["calls"] for r in mine)),
                "exec_ms": round(sum(r["total_exec_time"] for r in mine), 1),
                "top": [
                    {
                        "calls": int(r["calls"]),
                        "rows": int(r["rows"]),
                        "total_ms": round(r["total_exec_time"], 1),
                        "query": " ".join(r["query"].split())[:300],
                    }
                    for r in top
                ],
            }
        return out

    # --- measured steps -----------------------------------------------------

    async def measure(
        self,
        scenario: str,
        name: str,
        requests: Sequence[loadgen.Request],
        *,
        concurrency: int,
        expected: Sequence[int],
        on_response: loadgen.OnResponse | None = None,
        note: str = "",
        profile: str | None = None,
    ) -> Step:
        """``profile``: the service under test, sampled by py-spy during the step
        when the run takes profiles."""
        self.stack.check_alive()
        headers = await self.auth()
        await self.reset_statements()
        recording = self._start_profile(profile, scenario, name)
        watch = procs.Watch.start(self.stack.service_pids(), self.stack.service_pids)
        load_before = procs.load_average()
        try:
            result = await loadgen.run(
                self.stack.gateway_url,
                requests,
                concurrency=concurrency,
                headers=headers,
                on_response=on_response,
            )
        finally:
            usage = watch.finish()
            profiled = await asyncio.to_thread(profiling.stop, recording) if recording else None
        stmts = await self.statements()
        unexpected = sum(n for s, n in result.statuses.items() if s not in expected)
        step = Step(
            scenario,
            name,
            {
                "kind": "http",
                "requests": result.requests,
                "concurrency": concurrency,
                "seconds": round(result.seconds, 2),
                "throughput_rps": round(result.throughput, 1),
                "latency_ms": latency_summary(result.latencies),
                "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
                "expected_statuses": list(expected),
                "errors": unexpected,
                "load_generator_cpu_seconds": round(result.client_cpu_seconds, 2),
                "load_generator_cpu_percent": round(
                    100 * result.client_cpu_seconds / max(result.seconds, 1e-9), 1
                ),
                "statements": stmts,
                "statements_per_request": round(
                    sum(v["statements"] for v in stmts.values()) / max(result.requests, 1), 1
                ),
                "load_average_before": load_before,
                "load_average_after": procs.load_average(),
                **usage,
                "note": note,
            },
        )
        if profiled is not None:
            step.data["profile"] = {"service": profile, **profiled}
        self.steps.append(step)
        lat = step.data["latency_ms"]
        self.log(
            f"  {scenario}/{name}: {result.requests} req in {result.seconds:.1f}s "
            f"= {result.throughput:.0f}/s, p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']} ms, "
            f"errors {unexpected}, statuses {step.data['statuses']}"
        )
        return step

    def _start_profile(
        self, service: str | None, scenario: str, name: str
    ) -> profiling.Recording | None:
        if service is None or self.profile_dir is None:
            return None
        pid = self.stack.worker_pid(service)
        if pid is None:
            return None
        path = self.profile_dir / (
            f"{self.run_name}-{profiling.slug(scenario)}-{profiling.slug(name)}.speedscope.json"
        )
        recording = profiling.start(pid, path)
        if recording is None:
            self.log("  py-spy not found: the step runs without a profile")
        return recording

    async def restart(self, service: str, env: dict[str, str]) -> None:
        """Restart ``service``'s processes with ``env`` (read by its settings at start)."""
        self.log(f"  restarting {service} with " + ", ".join(f"{k}={v}" for k, v in env.items()))
        await asyncio.to_thread(self.stack.restart_service, service, env)

    async def pgbench(
        self,
        step: Step,
        database: str,
        script: str,
        *,
        clients: int,
        transactions: int,
        variables: dict[str, str] | None = None,
    ) -> None:
        """The database limit for ``step``'s transaction, recorded on the step."""
        await self.reset_statements()
        load_before = procs.load_average()
        result = await asyncio.to_thread(
            pgbench.run,
            self.stack.pg.port,
            database,
            script,
            clients=clients,
            transactions=transactions,
            variables=variables,
        )
        stmts = await self.statements(database)
        data: dict[str, Any] = result.as_dict()
        data["statements_per_transaction"] = round(
            sum(v["statements"] for v in stmts.values()) / max(result.transactions, 1), 1
        )
        data["load_average_before"] = load_before
        data["script"] = script
        step.data["pgbench"] = data
        api = step.data["throughput_rps"]
        step.data["api_to_pgbench"] = round(api / result.tps, 3) if result.tps else None
        self.log(
            f"  {step.scenario}/{step.name} pgbench: {result.transactions} tx "
            f"({result.failed} failed) = {result.tps:.0f} tps, "
            f"p99 {data['latency_ms']['p99']} ms; API/pgbench {step.data['api_to_pgbench']}"
        )

    def record(self, scenario: str, name: str, data: dict[str, Any]) -> Step:
        step = Step(scenario, name, data)
        self.steps.append(step)
        return step

    def check(self, scenario: str, name: str, ok: bool, detail: Any) -> None:
        self.checks.setdefault(scenario, {})[name] = {"ok": bool(ok), "detail": detail}
        self.log(f"  check {scenario}/{name}: {'ok' if ok else 'FAILED'} ({detail})")
