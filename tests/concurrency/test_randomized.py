"""A randomized concurrency test of seats and money, replayable by seed.

Many requests at once (up to IN_FLIGHT over as many connections, two offices with
real tokens from the gateway) go through the real nginx to the real training and
loan-ledger processes: bookings (some duplicates, some for full sessions, some
re-sent under their Idempotency-Key), cancellations of seated and waiting people,
capacity changes up and down; applications, approvals racing for the last baht,
releases, disbursements, repayments (some re-sent), reversals and top-ups. After
every round, with nothing in flight, every answer is judged against what that round
could legally have answered and every invariant is checked through the API and the
databases (see seats.py and money.py).

The seed (``OTOG_CONCURRENCY_SEED``, else random) is printed at the start and in
every failure, with the command that replays it; ``OTOG_CONCURRENCY_ROUNDS`` sets
the number of rounds. One ``random.Random(seed)`` draws each round's plan: which
operations, on which session, worker, fund or group, with which capacities and
amounts. A seed replays the plan, not the interleaving: the requests really run
concurrently, so which of two racing approvals wins is up to the machine, and the
test holds whoever wins.
"""

from __future__ import annotations

import asyncio
import random
import time

import asyncpg
import httpx
import pytest
from otog_devstack.postgres import plain_url

from tests.concurrency import money, seats
from tests.concurrency.support import IN_FLIGHT, Api, Failures, Run
from tests.support.stack import Databases

pytestmark = pytest.mark.e2e

# Successful keyed requests re-sent once more after their round (besides those
# already sent twice at once during it).
RESEND_SHARE = 0.25


async def test_seats_and_money_hold_under_random_concurrency(
    run: Run,
    chaos_gateway: str,
    office_credentials: list[dict[str, str]],
    databases: Databases,
    capsys: pytest.CaptureFixture[str],
) -> None:
    failures = Failures(run)
    with capsys.disabled():
        print(f"\nrandomized concurrency: {failures.banner()}")
    rng = random.Random(run.seed)
    training_db = await asyncpg.connect(plain_url(databases.live_urls["training"]))
    ledger_db = await asyncpg.connect(plain_url(databases.live_urls["loan-ledger"]))
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    try:
        async with httpx.AsyncClient(base_url=chaos_gateway, timeout=60, limits=limits) as client:
            api = Api(client, office_credentials)
            await api.refresh_tokens()
            seat_world = seats.Seats(api, failures, training_db)
            money_world = money.Money(api, failures, ledger_db)
            await seat_world.setup(rng)
            await money_world.setup()
            for n in range(1, run.rounds + 1):
                failures.round = api.round = n
                await api.refresh_tokens()
                seat_plan, money_plan = seats.draw_plan(rng), money.draw_plan(rng)
                ops, later = seat_world.operations(seat_plan)
                ops += money_world.operations(money_plan)
                # Launch order and the re-send sample come from a generator of their
                # own: how many operations a round has depends on earlier outcomes, and
                # the plan's generator must not drift with it.
                side = random.Random(run.seed * 1_000 + n)
                side.shuffle(ops)
                side.shuffle(later)
                started, sent = time.monotonic(), api.requests
                await asyncio.gather(*ops)
                await asyncio.gather(*later)
                elapsed, sent = time.monotonic() - started, api.requests - sent
                tally = seat_world.judge() | money_world.judge()
                resend = {
                    k
                    for k, use in api.keys.items()
                    if use.round == n
                    and any(a.ok for a in use.answers)
                    and (len(use.answers) > 1 or side.random() < RESEND_SHARE)
                }
                checking = time.monotonic()
                await api.resend_round(failures, resend)
                await seat_world.check()
                await money_world.check()
                failures.raise_if_any()
                print(
                    f"round {n}: {sent} requests in {elapsed:.2f} s, re-sends and checks "
                    f"{time.monotonic() - checking:.2f} s, 503s asked again so far "
                    f"{api.unavailable}; {dict(sorted(tally.items()))}"
                )
    except Exception as exc:
        if not str(exc).startswith("seed "):
            exc.add_note(failures.banner())
        raise
    finally:
        await training_db.close()
        await ledger_db.close()
