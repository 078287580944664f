"""The benchmark harness in its tiny mode, so it cannot rot unnoticed. It checks
that every scenario runs end to end with its pgbench twin and that the checks
after the load hold; it asserts nothing about speed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import sql
from bench.__main__ import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_tiny_run_writes_results_and_passes_its_checks(tmp_path: Path) -> None:
    code = main(
        [
            "--tiny",
            "--profile",
            "--workers",
            "1",
            "--var",
            str(tmp_path / "var"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    doc = json.loads((tmp_path / "out" / "tiny.json").read_text())
    assert code == 0, doc["checks"]
    names = {(s["scenario"], s["name"]) for s in doc["steps"]}
    assert ("registry", "bulk import (CSV)") in names
    # Today's design and the new one, side by side in the same run.
    side_by_side = {
        (s["scenario"], s["name"].split(" — ")[0], s["design"])
        for s in doc["steps"]
        if s.get("design")
    }
    for scenario, step in (("seat_rush", "book a seat"), ("loans", "repay")):
        matching = {d for sc, name, d in side_by_side if sc == scenario and name.startswith(step)}
        assert matching == {"today", "new"}, side_by_side
    http = [s for s in doc["steps"] if s.get("kind") == "http"]
    assert all(s["errors"] == 0 for s in http), [(s["name"], s["statuses"]) for s in http]
    with_pgbench = [s for s in http if "pgbench" in s]
    # The new designs' pgbench scripts, where this checkout has them.
    new_scripts = hasattr(sql, "booking_batch") + hasattr(sql, "REPAY_CHANGES")
    assert len(with_pgbench) == 6 + new_scripts
    assert all(
        s["pgbench"]["failed"] == 0 and s["pgbench"]["transactions"] > 0 for s in with_pgbench
    )
    assert all(c["ok"] for checks in doc["checks"].values() for c in checks.values())
    assert doc["machine"]["cores"] and doc["versions"]["postgresql"]
    report = (tmp_path / "out" / "tiny.md").read_text()
    assert report.startswith("# OTOG benchmarks")
    assert "## Today's design vs the new one" in report
    profiled = [s["profile"] for s in http if "profile" in s]
    assert len(profiled) == 4, [s["name"] for s in http if "profile" in s]
    for profile in profiled:
        assert profile["samples"] > 0 and profile["top_self"], profile
        assert (tmp_path / "out" / "profiles" / profile["speedscope"]).is_file()
