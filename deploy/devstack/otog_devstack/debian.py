"""Programs the stack needs from Debian's packages (nginx, etcd, chromium), installed
with apt-get when missing: `make run` and `make test` work on a fresh machine."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path


class PackageMissing(RuntimeError):
    pass


def find_program(name: str, places: Sequence[str] = ()) -> str | None:
    return shutil.which(name) or next((p for p in places if Path(p).exists()), None)


def ensure_program(
    name: str,
    packages: Sequence[str],
    *,
    places: Sequence[str] = (),
    error: type[RuntimeError] = PackageMissing,
) -> str:
    """The program's path, after installing ``packages`` as root if it is missing."""
    found = find_program(name, places)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise error(
            f"{name} is not installed. Install Debian's package as root: "
            f"apt-get update && apt-get install -y {' '.join(packages)}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Keep a package's own service (nginx on port 80, etcd on its default ports) from
    # starting: ours are started by the stack, on ports of its choosing.
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
            check=True,
            env=env,
            capture_output=True,
        )
    finally:
        if made_policy:
            policy.unlink(missing_ok=True)
    found = find_program(name, places)
    if not found:
        raise error(f"apt-get installed {' '.join(packages)} but no {name} binary was found")
    return found
