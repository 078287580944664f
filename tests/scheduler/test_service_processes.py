"""The scheduler inside real service processes: training with two uvicorn workers,
each running its scheduler, started after the sweep fell due while it was down. The
sweep runs once, cancels what closed below its minimum (with one event per session),
and the processes stop cleanly."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
from croniter import croniter
from otog_devstack.postgres import free_port, plain_url
from otog_training import cli
from otog_training.jobs import JOBS

from tests.support.stack import Databases, start_service, truncate_all


async def _fetch(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


def test_a_sweep_due_while_down_runs_once_in_two_processes(
    databases: Databases, data_dir: Path, log_dir: Path
) -> None:
    url = databases.live_urls["training"]
    sweep = next(job for job in JOBS if job.name == "cancel-below-minimum")
    asyncio.run(truncate_all(url))
    try:
        asyncio.run(cli.demo(url))
        asyncio.run(
            _fetch(
                url,
                "UPDATE training_sessions SET enrollment_closes_at = now() - interval '1 hour'",
            )
        )
        closed = len(asyncio.run(_fetch(url, "SELECT id FROM training_sessions")))
        assert closed > 0
        # The sweep's row as a run before the downtime left it: due an hour ago.
        expression = " ".join(croniter(sweep.cron).expressions)
        asyncio.run(
            _fetch(
                url,
                "INSERT INTO pgqueuer_schedules (expression, entrypoint, next_run) "
                "VALUES ($1, $2, now() - interval '1 hour')",
                expression,
                sweep.name,
            )
        )

        proc = start_service(
            "training",
            url,
            port=free_port(),
            data_dir=data_dir,
            log_dir=log_dir,
            workers=2,
            extra_env={"TRAINING_SCHEDULER_ENABLED": "true", "TRAINING_LOG_LEVEL": "INFO"},
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                rows = asyncio.run(
                    _fetch(
                        url,
                        "SELECT status::text AS status, next_run > now() AS later "
                        "FROM pgqueuer_schedules WHERE entrypoint = $1",
                        sweep.name,
                    )
                )
                if rows and rows[0]["status"] == "queued" and rows[0]["later"]:
                    break
                assert time.monotonic() < deadline, "the sweep did not run"
                time.sleep(0.2)
            statuses = asyncio.run(_fetch(url, "SELECT DISTINCT status FROM training_sessions"))
            assert [r["status"] for r in statuses] == ["cancelled"]
            events = asyncio.run(
                _fetch(
                    url,
                    "SELECT subject, count(*) AS n FROM outbox "
                    "WHERE type = 'session.cancelled' GROUP BY subject",
                )
            )
            assert len(events) == closed and all(e["n"] == 1 for e in events)
        finally:
            proc.stop()
        assert proc.log_path is not None
        log = proc.log_path.read_text()
        assert log.count(f"job {sweep.name} done") == 1, log
        assert "Traceback" not in log, log
    finally:
        asyncio.run(truncate_all(url))
