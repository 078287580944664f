"""The programme console: its npm packages installed once, its bundle built by esbuild
into build/console/app, which the gateway serves at /console/ (no CDN, works offline)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from otog_devstack.stack import ROOT

SOURCE = ROOT / "deploy" / "console"
BUILD = ROOT / "build" / "console" / "app"


class ConsoleUnavailable(RuntimeError):
    pass


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise ConsoleUnavailable("npm and Node.js are needed to build the console")
    return npm


def _install_packages() -> None:
    installed = SOURCE / "node_modules" / ".package-lock.json"
    lock = SOURCE / "package-lock.json"
    # Installed again when the lock file changed since (a dependency added or bumped).
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    result = subprocess.run(
        [_npm(), "ci", "--no-audit", "--no-fund", "--silent"],
        cwd=SOURCE,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ConsoleUnavailable(f"npm ci failed in {SOURCE}:\n{result.stderr[-2000:]}")


CLIENT_ID = "otog-console"


def ensure_console(target: Path = BUILD, client_id: str = CLIENT_ID) -> Path:
    """Builds the console into ``target``, signing in as the app client ``client_id``."""
    _install_packages()
    node = shutil.which("node")
    if node is None:
        raise ConsoleUnavailable("Node.js is needed to build the console")
    # Built every time: esbuild takes a fraction of a second and the sources may have moved on.
    result = subprocess.run(
        [node, str(SOURCE / "build.mjs"), str(target), client_id],
        cwd=SOURCE,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ConsoleUnavailable(f"the console's build failed:\n{result.stderr[-2000:]}")
    return target
