"""The address rules and the retry schedule, as functions."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime

import pytest
from otog_registry.webhooks.schedule import next_delay, retry_after_seconds
from otog_registry.webhooks.ssrf import TargetPolicy, address_refusal

STRICT = TargetPolicy.of(False, {})
DEV = TargetPolicy.of(True, {})


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1", "172.31.255.255", "192.168.0.1", "127.0.0.1", "127.8.9.10", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "224.0.0.251", "255.255.255.255", "192.0.2.1", "198.18.0.1",
        "::1", "::", "fe80::1", "fd00::1", "fc00::1", "ff02::1", "ff0e::1", "::ffff:127.0.0.1",
        "::ffff:8.8.8.8", "2002:0a00:0001::1", "64:ff9b::a00:1", "2001:db8::1",
    ],
)  # fmt: skip
def test_not_global_is_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), STRICT) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_global_is_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), STRICT) is None


def test_loopback_only_when_allowed() -> None:
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), DEV) is None
    assert address_refusal(ipaddress.ip_address("::1"), DEV) is None
    assert address_refusal(ipaddress.ip_address("10.0.0.1"), DEV) is not None


def test_schedule_first_retry_soon_and_eight_retries_over_a_day() -> None:
    from otog_registry.settings import RegistrySettings

    settings = RegistrySettings()
    delays = settings.webhook_retry_delays_seconds
    rng = random.Random(7)
    waits = [
        next_delay(n, delays, jitter=settings.webhook_retry_jitter, rng=rng)
        for n in range(1, len(delays) + 1)
    ]
    assert all(w is not None for w in waits)
    assert waits[0] is not None and waits[0] <= 10
    assert len(waits) >= 8
    assert sum(w for w in waits if w is not None) >= 24 * 3600
    assert next_delay(len(delays) + 1, delays, jitter=0.2) is None


def test_retry_after_is_honoured_up_to_a_cap() -> None:
    now = datetime(2025, 4, 10, 2, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Thu, 10 Apr 2025 02:05:00 GMT", now) == 300
    assert retry_after_seconds("soon", now) is None
    assert next_delay(1, [5.0], jitter=0, retry_after=120) == 120
    assert next_delay(1, [5.0], jitter=0, retry_after=1) == 5
    assert next_delay(1, [5.0], jitter=0, retry_after=10**9, retry_after_max=3600) == 3600
