"""Headless Chromium for the sign-in page's browser test: Debian's package, installed
when missing like nginx (Playwright drives it; no browser download of its own)."""

from __future__ import annotations

from otog_devstack.debian import ensure_program, find_program

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
    return find_program("chromium", (CHROMIUM,))


def ensure_chromium() -> str:
    # With a Thai font, so the page's screenshot shows Thai rather than boxes.
    return ensure_program(
        "chromium", ["chromium", "fonts-thai-tlwg"], places=(CHROMIUM,), error=ChromiumMissing
    )
