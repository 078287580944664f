"""What every test gateway shares."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

# Functional tests are not about limits (tests/e2e/test_gateway_limits.py is).
FUNCTIONAL_LIMITS = {
    "rate_per_client": "2000r/s",
    "burst_per_client": 2000,
    "rate_per_ip_public": "2000r/s",
    "burst_per_ip_public": 2000,
    "rate_per_ip_token": "500r/s",
    "burst_per_ip_token": 500,
}


def wait_for_gateway(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until the test gateway at ``url`` answers its health check (15 s at most);
    a gateway that exits or stays silent fails the fixture, naming its logs."""
    deadline = time.monotonic() + 15
    while True:
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"nginx did not come up; see {log}")
        time.sleep(0.1)
