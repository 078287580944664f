"""What every test gateway shares."""

from __future__ import annotations

# Functional tests are not about limits (tests/e2e/test_gateway_limits.py is).
FUNCTIONAL_LIMITS = {
    "rate_per_client": "2000r/s",
    "burst_per_client": 2000,
    "rate_per_ip_public": "2000r/s",
    "burst_per_ip_public": 2000,
    "rate_per_ip_token": "500r/s",
    "burst_per_ip_token": 500,
}
