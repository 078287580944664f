"""Helpers of the fault tests: uvicorn's worker processes, and a client that
retries as a well-behaved integrator would."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

# What a client retries, with the same Idempotency-Key: the gateway's 502/504 (a
# service process died or hung), 503 (the database, or a transaction conflict),
# 409 in flight (the first attempt is still being processed), and no answer.
RETRIED_STATUSES = {502, 503, 504}
IN_FLIGHT = "/problems/idempotency-key-in-flight"


def uvicorn_workers(supervisor_pid: int) -> list[int]:
    """The worker processes of a ``uvicorn --workers N`` supervisor (its children
    started through multiprocessing's spawn; not its resource tracker)."""
    workers = []
    for task in Path(f"/proc/{supervisor_pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in children:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                workers.append(int(pid))
    return sorted(workers)


@dataclass
class Attempt:
    sent: float  # time.monotonic()
    done: float
    status: int | None  # None: no answer (connection refused, reset, timed out)
    problem_type: str | None = None


@dataclass
class RetryingClient:
    """Sends a request until it gets a final answer, retrying what a client should
    retry; keeps every attempt for the test to examine."""

    client: httpx.AsyncClient
    deadline: float  # time.monotonic() after which it gives up
    # Retry-After is honoured up to this many seconds (an impatient prober sets less).
    max_pause: float = 2.0
    attempts: list[Attempt] = field(default_factory=list)

    def statuses(self) -> Counter[int | None]:
        return Counter(a.status for a in self.attempts)

    async def send(self, method: str, url: str, **kwargs: Any) -> tuple[httpx.Response, Attempt]:
        """The final answer, and the attempt that got it."""
        delay = 0.1
        while True:
            sent = time.monotonic()
            try:
                r = await self.client.request(method, url, **kwargs)
            except httpx.TransportError:
                self.attempts.append(Attempt(sent, time.monotonic(), None))
                await self._pause(min(delay, self.max_pause))
                delay = min(delay * 2, 1.0)
                continue
            problem = None
            if r.headers.get("content-type", "").startswith("application/problem+json"):
                problem = r.json().get("type")
            attempt = Attempt(sent, time.monotonic(), r.status_code, problem)
            self.attempts.append(attempt)
            if r.status_code in RETRIED_STATUSES or (r.status_code == 409 and problem == IN_FLIGHT):
                wait = float(r.headers.get("retry-after", delay))
                await self._pause(min(wait, self.max_pause))
                delay = min(delay * 2, 1.0)
                continue
            return r, attempt

    async def _pause(self, seconds: float) -> None:
        if time.monotonic() + seconds > self.deadline:
            raise TimeoutError("no final answer before the test's deadline")
        await asyncio.sleep(seconds)


async def disbursed_loan(
    gw: httpx.AsyncClient,
    fund_id: str,
    *,
    officer: dict[str, str],
    registrar: dict[str, str],
    group_name: str,
    occupation: str,
    purpose: str,
) -> str:
    """A new group's loan of 100,000 THB, applied for, approved and disbursed through the
    gateway: what the fault tiers' repayments are made against."""
    g = await gw.post(
        "/v1/groups",
        json={"name_th": group_name, "subdistrict_code": "100101", "occupation": occupation},
        headers=registrar,
    )
    assert g.status_code == 201, g.text
    loan = await gw.post(
        "/v1/loans",
        json={
            "fund_id": fund_id,
            "group_id": g.json()["id"],
            "principal_satang": 100_000 * 100,
            "purpose": purpose,
        },
        headers=officer,
    )
    assert loan.status_code == 201, loan.text
    loan_id = str(loan.json()["id"])
    approved = await gw.post(f"/v1/loans/{loan_id}/approve", headers=officer)
    assert approved.status_code == 200, approved.text
    disbursed = await gw.post(
        f"/v1/loans/{loan_id}/disburse", json={"disbursed_on": "2025-01-15"}, headers=officer
    )
    assert disbursed.status_code == 200, disbursed.text
    return loan_id
