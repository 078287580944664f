"""The results table: JSON (everything) and Markdown (the summary)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from otog_devstack.postgres import bin_path

from bench.harness import Bench


def machine() -> dict[str, Any]:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def versions() -> dict[str, str]:
    out: dict[str, str] = {"python": platform.python_version()}
    for pkg in (
        "fastapi",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "sqlalchemy",
        "asyncpg",
        "pydantic",
        "orjson",
        "pyjwt",
    ):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "absent"
    try:
        pg = subprocess.run(
            [str(bin_path("postgres")), "--version"], capture_output=True, text=True, check=False
        )
        out["postgresql"] = pg.stdout.strip().rsplit(" ", 1)[-1]
    except OSError:
        out["postgresql"] = "unknown"
    try:
        ng = subprocess.run(["nginx", "-v"], capture_output=True, text=True, check=False)
        out["nginx"] = ng.stderr.strip().rsplit("/", 1)[-1]
    except OSError:
        out["nginx"] = "unknown"
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        )
        out["otog_commit"] = rev.stdout.strip()
    except OSError:
        pass
    return out


def document(bench: Bench, *, mode: str, label: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "label": label,
        "mode": mode,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        **meta,
        "steps": [{"scenario": s.scenario, "name": s.name, **s.data} for s in bench.steps],
        "checks": bench.checks,
    }


# Processes watched beside the services: not counted as a service's CPU or memory.
NOT_SERVICES = frozenset({"nginx", "postgresql"})


def _ms(d: dict[str, Any] | None, key: str) -> str:
    return f"{d[key]:.1f}" if d else "–"


def _rss(step: dict[str, Any]) -> str:
    parts = []
    for name, info in (step.get("services") or {}).items():
        if name in NOT_SERVICES:
            continue
        peaks = info.get("peak_rss_mb") or []
        if peaks:
            parts.append(f"{name} {max(peaks):.0f}")
    return ", ".join(parts) or "–"


def markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    v = doc["versions"]
    lines = [
        f"# OTOG benchmarks — {doc['label']} ({doc['mode']})",
        "",
        f"Finished {doc['finished_at']}. Machine: {m['cores']} cores ({m['cpu_model']}), "
        f"{m['memory_gb']} GB memory, Linux {m['kernel']}. Load average at the end "
        f"{m['load_average']}: {doc.get('machine_note', '')}",
        "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        f"Service processes: {doc.get('process_note', '')}",
        "",
        "All load goes through the nginx gateway on 127.0.0.1. Latencies are measured by the "
        "load generator from sending the request to the end of the response. *API/pgbench* is "
        "the API's throughput divided by pgbench's for the same SQL transaction at the same "
        "concurrency on the same server. Peak RSS is the largest resident size of any one "
        "process of the service (uvicorn supervisor or worker) during the step.",
        "",
        "| scenario | step | requests | conc. | req/s | p50 ms | p95 ms | p99 ms | errors "
        "| peak RSS MB | pgbench tps | pgbench p99 ms | API/pgbench | stmts/req |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: "
        "| ---: | ---: |",
    ]
    for step in doc["steps"]:
        if step.get("kind") != "http":
            continue
        lat = step["latency_ms"]
        pg = step.get("pgbench")
        lines.append(
            f"| {step['scenario']} | {step['name']} | {step['requests']} | {step['concurrency']} "
            f"| {step['throughput_rps']:.0f} | {lat['p50']:.1f} | {lat['p95']:.1f} "
            f"| {lat['p99']:.1f} | {step['errors']} | {_rss(step)} "
            f"| {pg['tps']:.0f} | {_ms(pg['latency_ms'] if pg else None, 'p99')} "
            f"| {step['api_to_pgbench']:.2f} | {step['statements_per_request']} |"
            if pg
            else f"| {step['scenario']} | {step['name']} | {step['requests']} "
            f"| {step['concurrency']} | {step['throughput_rps']:.0f} | {lat['p50']:.1f} "
            f"| {lat['p95']:.1f} | {lat['p99']:.1f} | {step['errors']} | {_rss(step)} "
            f"| – | – | – | {step['statements_per_request']} |"
        )
    lines += ["", "Targets (2-core machine):", "", *targets(doc)]
    lines += side_by_side(doc)
    other = [s for s in doc["steps"] if s.get("kind") != "http"]
    if other:
        lines += ["", "Other figures:", ""]
        for step in other:
            fields = {k: val for k, val in step.items() if k not in ("scenario", "name", "kind")}
            lines.append(f"- {step['scenario']} / {step['name']}: " + json.dumps(fields))
    lines += ["", "Checks after the load:", ""]
    for scenario, checks in doc["checks"].items():
        for name, c in checks.items():
            mark = "ok" if c["ok"] else "**FAILED**"
            lines.append(f"- {scenario}: {name} — {mark} ({json.dumps(c['detail'])})")
    lines += [
        "",
        "Load generator CPU per step (seconds, % of one core): "
        + "; ".join(
            f"{s['name']} {s['load_generator_cpu_seconds']} s ({s['load_generator_cpu_percent']}%)"
            for s in doc["steps"]
            if s.get("kind") == "http"
        )
        + ".",
        "",
    ]
    return "\n".join(lines)


def _find(doc: dict[str, Any], scenario: str, prefix: str) -> dict[str, Any] | None:
    steps: list[dict[str, Any]] = doc["steps"]
    for step in steps:
        if step["scenario"] == scenario and step["name"].startswith(prefix):
            return step
    return None


def _design(doc: dict[str, Any], scenario: str, prefix: str, design: str) -> dict[str, Any] | None:
    for step in doc["steps"]:
        if (
            step["scenario"] == scenario
            and step["name"].startswith(prefix)
            and step.get("design") == design
        ):
            return dict(step)
    return None


# The goals for the new designs (2-core machine, 200 connections).
SEAT_RUSH_GOAL_RPS = 500
REPAY_GOAL_RPS = 320
GOAL_RATIO = 3.0
GOAL_P99_MS = 1000.0
PROFILE_LINES = 8
STATEMENT_LINES = 3
SERVICE_DATABASES = {"seat_rush": "otog_training", "loans": "otog_loan_ledger"}


def side_by_side(doc: dict[str, Any]) -> list[str]:
    """The section "Today's design vs the new one": each pair of steps, the
    issue's goals evaluated, and where the time went in each."""
    pairs = [
        (
            scenario,
            prefix,
            _design(doc, scenario, prefix, "today"),
            _design(doc, scenario, prefix, "new"),
        )
        for scenario, prefix in (("seat_rush", "book a seat"), ("loans", "repay"))
    ]
    pairs = [p for p in pairs if p[2] or p[3]]
    if not pairs:
        return []
    out = [
        "",
        "## Today's design vs the new one",
        "",
        "Each pair ran in this run, one after the other, against the same services restarted "
        "with the design's settings (`TRAINING_BOOKING_BATCHING` with "
        "`TRAINING_REGISTRY_LOOKUPS_COALESCED`, `LOANS_FUND_CHANGES`: false is "
        "today's design, true the new one), on fresh sessions or funds of the same size "
        "booked or repaid by the same requests. *pgbench* runs each design's own SQL "
        "transaction on the same server at the same number of bookings or repayments in "
        "flight; a batched transaction's figure is also given per booking. *Machine CPU* is "
        "the whole machine's busy share during the step (the load generator, nginx, the "
        "services, PostgreSQL and anything else running); the load average before and after "
        "each step tells how far other work on the machine can explain a difference: compare "
        "the designs on a quiet machine.",
        "",
        "| step | design | requests | conc. | req/s | p50 ms | p99 ms | errors | machine CPU % "
        "| load average | services CPU s | PostgreSQL CPU s | per transaction | pgbench tx/s "
        "| pgbench per s | API/pgbench |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: | ---: |",
    ]
    for scenario, prefix, today, new in pairs:
        for step in (today, new):
            if step is None:
                continue
            lat = step["latency_ms"]
            pg = step.get("pgbench")
            service = _service_cpu(step)
            per_tx = (step.get("bookings_per_transaction") or {}).get("mean")
            per_second = (pg or {}).get("bookings_per_second") or (pg or {}).get("tps")
            out.append(
                f"| {scenario} / {prefix} | {step['design']} | {step['requests']} "
                f"| {step['concurrency']} | {step['throughput_rps']:.0f} | {lat['p50']:.1f} "
                f"| {lat['p99']:.1f} | {step['errors']} "
                f"| {_or_dash(step.get('machine_cpu_busy_percent'))} | {_load(step)} "
                f"| {_or_dash(service)} | {_or_dash(_postgres_cpu(step))} "
                f"| {_or_dash(per_tx)} | {_or_dash(pg['tps'] if pg else None, '.0f')} "
                f"| {_or_dash(per_second, '.0f')} "
                f"| {_or_dash(step.get('api_to_pgbench'), '.2f')} |"
            )
        if today and new and today["throughput_rps"]:
            out.append(
                f"| {scenario} / {prefix} | **new / today** | | "
                f"| **{new['throughput_rps'] / today['throughput_rps']:.2f}×** | "
                f"{_ratio(new['latency_ms']['p50'], today['latency_ms']['p50'])} "
                f"| {_ratio(new['latency_ms']['p99'], today['latency_ms']['p99'])} "
                "| | | | | | | | | |"
            )
    out += ["", "Goals of the new designs:", "", *goals(pairs)]
    out += ["", "Where the time goes:", ""]
    for scenario, _prefix, today, new in pairs:
        for step in (today, new):
            if step is not None:
                out += _where(step, SERVICE_DATABASES[scenario])
    return out


def goals(
    pairs: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]],
) -> list[str]:
    out: list[str] = []

    def line(what: str, figure: str, met: bool) -> None:
        out.append(f"- {what}: {figure} — {'met' if met else '**not met**'}")

    for scenario, _prefix, today, new in pairs:
        if new is None:
            continue
        rps = new["throughput_rps"]
        p99 = new["latency_ms"]["p99"]
        conc = new["concurrency"]
        floor = SEAT_RUSH_GOAL_RPS if scenario == "seat_rush" else REPAY_GOAL_RPS
        what = "seat rush" if scenario == "seat_rush" else "repayments"
        line(f"{what} ≥ {floor}/s", f"{rps:.0f}/s", rps >= floor)
        if today and today["throughput_rps"]:
            ratio = rps / today["throughput_rps"]
            line(
                f"{what} ≥ {GOAL_RATIO:.0f}× today's",
                f"{ratio:.2f}× ({rps:.0f} vs {today['throughput_rps']:.0f}/s)",
                ratio >= GOAL_RATIO,
            )
            single_row = (today.get("pgbench") or {}).get("tps")
            if scenario == "seat_rush" and single_row:
                line(
                    "seat rush above pgbench's figure for today's single-row transaction",
                    f"{rps:.0f} vs {single_row:.0f}/s",
                    rps > single_row,
                )
        line(f"{what} p99 < 1 s at {conc} connections", f"{p99:.0f} ms", p99 < GOAL_P99_MS)
    return out


def _where(step: dict[str, Any], database: str) -> list[str]:
    out = [f"- **{step['name']}** ({step.get('machine_cpu_busy_percent', '–')}% machine CPU):"]
    profile = step.get("profile")
    if profile and profile.get("top_self"):
        out.append(
            f"  - py-spy on one {profile['service']} worker (pid {profile['pid']}, "
            f"{profile['samples']} samples, `profiles/{profile['speedscope']}`), self time: "
            + "; ".join(
                f"{t['function']} {t['percent']}%" for t in profile["top_self"][:PROFILE_LINES]
            )
        )
    elif profile:
        out.append(f"  - py-spy: {profile.get('error', 'no samples')}")
    stmts = (step.get("statements") or {}).get(database)
    if stmts:
        out.append(
            f"  - {database}: {stmts['statements']} statements, {stmts['exec_ms']:.0f} ms "
            "executing; the costliest: "
            + "; ".join(
                f"{t['total_ms']:.0f} ms in {t['calls']} calls of `{t['query'][:120]}`"
                for t in stmts["top"][:STATEMENT_LINES]
            )
        )
    return out


def _service_cpu(step: dict[str, Any]) -> float | None:
    services = step.get("services") or {}
    seconds = [
        info.get("cpu_seconds", 0.0) for name, info in services.items() if name not in NOT_SERVICES
    ]
    return round(sum(seconds), 1) if seconds else None


def _postgres_cpu(step: dict[str, Any]) -> float | None:
    info = (step.get("services") or {}).get("postgresql")
    return round(info["cpu_seconds"], 1) if info else None


def _load(step: dict[str, Any]) -> str:
    """The one-minute load average before → after the step: how busy the machine
    was, the step's own load included."""
    before, after = step.get("load_average_before"), step.get("load_average_after")
    return f"{before[0]:.1f} → {after[0]:.1f}" if before and after else "–"


def _or_dash(value: Any, fmt: str = "") -> str:
    return "–" if value is None else format(value, fmt)


def _ratio(new: float, today: float) -> str:
    return f"{new / today:.2f}×" if today else "–"


def targets(doc: dict[str, Any]) -> list[str]:
    """Each target of the issue, the figure of this run, and whether it is met."""
    out: list[str] = []

    def line(what: str, figure: str, met: bool) -> None:
        out.append(f"- {what}: {figure} — {'met' if met else '**not met**'}")

    for scenario, prefix, label in (
        ("seat_rush", "book a seat", "seat booking p99 < 100 ms at 200 connections"),
        ("loans", "repay", "repayment p99 < 100 ms at 200 connections"),
    ):
        step = _design(doc, scenario, prefix, "new") or _find(doc, scenario, prefix)
        if step:
            p99 = step["latency_ms"]["p99"]
            line(label, f"{p99:.0f} ms at {step['concurrency']}", p99 < 100)
    for step in doc["steps"]:
        if step.get("api_to_pgbench") is not None:
            ratio = step["api_to_pgbench"]
            line(
                f"{step['scenario']} / {step['name']}: API ≥ 40% of pgbench",
                f"{ratio:.0%} ({step['throughput_rps']:.0f} vs {step['pgbench']['tps']:.0f}/s)",
                ratio >= 0.4,
            )
    imp = _find(doc, "registry", "bulk import")
    if imp:
        line(
            "import ≥ 50,000 rows/s",
            f"{imp['rows_per_second']:,} rows/s",
            imp["rows_per_second"] >= 50_000,
        )
    for prefix in ("search by national ID (", "search by national ID, "):
        step = _find(doc, "registry", prefix)
        if step:
            p99 = step["latency_ms"]["p99"]
            line(
                f"search p99 < 10 ms ({step['name']}, {step['concurrency']} connections)",
                f"{p99:.1f} ms",
                p99 < 10,
            )
    peaks = [
        mb
        for step in doc["steps"]
        for name, info in (step.get("services") or {}).items()
        if name not in NOT_SERVICES
        for mb in info.get("peak_rss_mb", [])
    ]
    if peaks:
        line("< 200 MB RSS per service process", f"largest {max(peaks):.0f} MB", max(peaks) < 200)
    return out


def write(doc: dict[str, Any], out_dir: Path, name: str) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{name}.json"
    md_path = out_dir / f"{name}.md"
    json_path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(markdown(doc))
    return json_path, md_path
