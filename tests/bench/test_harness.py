"""The benchmark harness in its tiny mode, so it cannot rot unnoticed. It checks
that every scenario runs end to end with its pgbench twin and that the checks
after the load hold; it asserts nothing about speed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_tiny_run_writes_results_and_passes_its_checks(tmp_path: Path) -> None:
    code = main(
        ["--tiny", "--workers", "1", "--var", str(tmp_path / "var"), "--out", str(tmp_path / "out")]
    )
    doc = json.loads((tmp_path / "out" / "tiny.json").read_text())
    assert code == 0, doc["checks"]
    names = {(s["scenario"], s["name"]) for s in doc["steps"]}
    assert ("seat_rush", "book a seat") in names
    assert ("registry", "bulk import (CSV)") in names
    http = [s for s in doc["steps"] if s.get("kind") == "http"]
    assert all(s["errors"] == 0 for s in http), [(s["name"], s["statuses"]) for s in http]
    with_pgbench = [s for s in http if "pgbench" in s]
    assert len(with_pgbench) == 6
    assert all(
        s["pgbench"]["failed"] == 0 and s["pgbench"]["transactions"] > 0 for s in with_pgbench
    )
    assert all(c["ok"] for checks in doc["checks"].values() for c in checks.values())
    assert doc["machine"]["cores"] and doc["versions"]["postgresql"]
    assert (tmp_path / "out" / "tiny.md").read_text().startswith("# OTOG benchmarks")
