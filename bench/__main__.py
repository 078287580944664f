"""``python -m bench [--full] [--profile] [--scale 1m|20m] [--label NAME] [--only seats,loans,…]``.

Starts the whole system as `make run` does (in ``var/bench``, on its own ports),
loads data, runs the scenarios through the nginx gateway with pgbench beside
each, and writes ``bench/results/<name>.{md,json}``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from bench import events as bench_events
from bench import events_e2e, events_switchback, photos, report, scenarios, signin, webhooks
from bench import stack as bench_stack
from bench import sync as bench_sync
from bench.harness import MODES, Bench

SCENARIOS: dict[str, Callable[[Bench], Awaitable[None]]] = {
    "seats": scenarios.seat_rush,
    "loans": scenarios.loans,
    "registry": scenarios.registry,
    "tokens": scenarios.tokens,
    "events": bench_events.feed,
    "webhooks": webhooks.webhooks,
    "signin": signin.signin,
    "events-e2e": events_e2e.events_e2e,
    "events-switchback": events_switchback.switchback,
    "photos": photos.photos,
    "sync": bench_sync.sync,
}
# Run only when named with --only: each takes over a minute in quick mode.
ON_REQUEST = {"events-e2e", "events-switchback"}
# Other names --only takes: the scenario's name in the results.
ALIASES = {"seat_rush": "seats"}
SCALES = {"1m": 1_000_000, "20m": 20_000_000}
RESULTS = Path(__file__).resolve().parent / "results"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench", description=__doc__)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the default: under 5 minutes")
    mode.add_argument("--full", action="store_true", help="the issue's full figures (~30 min)")
    mode.add_argument("--tiny", action="store_true", help="a few dozen requests (harness test)")
    p.add_argument("--scale", choices=sorted(SCALES), help="workers for the registry scenario")
    p.add_argument("--only", default="", help="comma-separated: " + ",".join(SCENARIOS))
    p.add_argument("--label", default="", help="name of this run in the results")
    p.add_argument("--workers", type=int, default=int(os.environ.get("OTOG_WORKERS", "2")))
    p.add_argument("--replicas", type=int, default=1, help="processes of each service")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--var", type=Path, default=None, help="data directory (default var/bench)")
    p.add_argument("--keep", action="store_true", help="leave the stack running at the end")
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy on the service under test during the side-by-side steps (always in --full)",
    )
    return p.parse_args(argv)


def machine_note(start: float, end: float, busiest: float) -> str:
    """What the load average says of the run. The run's own load shows between
    its steps; only the load at the start tells of other work on the machine."""
    return (
        f"load average {start:.2f} at the start, {end:.2f} at the end and up to "
        f"{busiest:.2f} between the steps of the run (the run's own load included)"
        + (
            " — the machine was already busy when the run began, so the figures are "
            "lower than on an idle one."
            if start > 1.0
            else "."
        )
    )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    mode = "full" if args.full else "tiny" if args.tiny else "quick"
    sizes = MODES[mode]
    if args.scale:
        sizes = replace(sizes, import_workers=SCALES[args.scale])
    chosen = [ALIASES.get(s.strip(), s.strip()) for s in args.only.split(",") if s.strip()] or [
        name for name in SCENARIOS if name not in ON_REQUEST
    ]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        print(f"unknown scenarios: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    label = args.label or mode
    var = args.var or bench_stack.default_var_dir()

    def log(message: str) -> None:
        print(message, flush=True)

    started = time.monotonic()
    load_at_start = os.getloadavg()
    log(f"OTOG bench, {mode} mode, scenarios {', '.join(chosen)}; data in {var}")
    stk = bench_stack.start(var, workers=args.workers, replicas=args.replicas, say=log)
    try:
        name = label if args.label else mode
        profiles = args.out / "profiles" if args.profile or mode == "full" else None
        bench = Bench(stk, sizes, log=log, profile_dir=profiles, run_name=name)
        pids = stk.service_pids()
        python = {k: len(v) for k, v in pids.items() if k != "nginx"}
        process_note = (
            f"{len(stk.procs)} service processes ({args.replicas} replica(s) of each of "
            f"the three services), each uvicorn with {args.workers} worker process(es) "
            f"plus its supervisor and multiprocessing helper: "
            + ", ".join(f"{k} {n}" for k, n in python.items())
            + f" = {sum(python.values())} Python processes "
            f"({len(stk.procs) * args.workers} serving requests); nginx "
            f"{len(pids.get('nginx', []))} processes (master + workers); one PostgreSQL server."
        )

        async def go() -> None:
            try:
                for name in chosen:
                    await SCENARIOS[name](bench)
            finally:
                await bench.aclose()

        asyncio.run(go())
        load_at_end = os.getloadavg()
        during = [
            s.data[k][0]
            for s in bench.steps
            for k in ("load_average_before", "load_average_after")
            if k in s.data
        ]
        busy = max([load_at_start[0], load_at_end[0], *during])
        note = machine_note(load_at_start[0], load_at_end[0], busy)
        doc = report.document(
            bench,
            mode=mode,
            label=label,
            meta={
                "scenarios": chosen,
                "sizes": sizes.__dict__,
                "workers_per_service": args.workers,
                "replicas_per_service": args.replicas,
                "process_note": process_note,
                "machine_note": note,
                "load_average_start": [round(x, 2) for x in load_at_start],
                "seconds": round(time.monotonic() - started, 1),
            },
        )
        json_path, md_path = report.write(doc, args.out, name)
        log(f"results: {md_path} and {json_path} ({doc['seconds']} s)")
        failed = [
            f"{sc}/{n}" for sc, cs in bench.checks.items() for n, c in cs.items() if not c["ok"]
        ]
        if failed:
            log("FAILED checks: " + ", ".join(failed))
            return 1
        return 0
    finally:
        if not args.keep:
            stk.stop()


if __name__ == "__main__":
    sys.exit(main())
