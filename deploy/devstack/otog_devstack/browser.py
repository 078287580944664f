"""Headless Chromium for the sign-in page's browser test: Debian's package, installed
when missing like nginx (Playwright drives it; no browser download of its own)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# Flags for a test run in a container: no sandbox (no user namespaces), no GPU, and
# nothing that phones home.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


class ChromiumMissing(RuntimeError):
    pass


def find_chromium() -> str | None:
    return shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)


def ensure_chromium() -> str:
    found = find_chromium()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ChromiumMissing(
            "chromium is not installed. Install Debian's package as root: "
            "apt-get update && apt-get install -y chromium fonts-thai-tlwg"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    subprocess.run(
        # With a Thai font, so the page's screenshot shows Thai rather than boxes.
        [
            "apt-get",
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "chromium",
            "fonts-thai-tlwg",
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    found = find_chromium()
    if not found:
        raise ChromiumMissing("apt-get installed chromium but no chromium binary was found")
    return found
