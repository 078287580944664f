"""Offline API docs: Swagger UI from the npm package, copied next to our page."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from otog_devstack.stack import ROOT

SOURCE = ROOT / "deploy" / "docs"
BUILD = ROOT / "build" / "docs"
ASSETS = (
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "favicon-32x32.png",
    "favicon-16x16.png",
    # Where the sign-in (authorization code + PKCE) returns to the docs page.
    "oauth2-redirect.html",
    "oauth2-redirect.js",
)


class DocsUnavailable(RuntimeError):
    pass


def ensure_docs(target: Path = BUILD) -> Path:
    dist = SOURCE / "node_modules" / "swagger-ui-dist"
    if not (dist / "swagger-ui-bundle.js").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise DocsUnavailable("npm is needed once to fetch Swagger UI (install Node.js)")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--silent"],
            cwd=SOURCE,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise DocsUnavailable(f"npm ci failed in {SOURCE}:\n{result.stderr[-2000:]}")
    target.mkdir(parents=True, exist_ok=True)
    for name in ASSETS:
        shutil.copy2(dist / name, target / name)
    for name in ("index.html", "otog-init.js"):
        shutil.copy2(SOURCE / name, target / name)
    return target
