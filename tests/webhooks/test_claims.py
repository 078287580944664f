"""A claim's cost does not grow with the backlog waiting behind it.

Each claim counts the subscription's deliveries under a live lease, so that the bound
on attempts in flight holds across workers. Counted through the due-deliveries index,
that read every pending delivery of the subscription: once a backlog formed, each
claim cost more, the backlog grew faster, and the database's CPU went to the claims
(bench/results/events-e2e-full5.*)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from typing import Any

import asyncpg
from otog_devstack.postgres import plain_url
from otog_registry.webhooks.repository import CLAIM

from tests.support.stack import Databases

BACKLOG = 20_000
LEASED = 8
# Pages the claim reads to choose what it takes, with a backlog of BACKLOG: the
# leased deliveries and the due ones it takes, about 50 here. Counting the leases
# through the backlog read its pages besides: about 400. (Writing the leases
# costs pages in proportion to the deliveries taken, whatever waits behind them.)
MOST_PAGES = 200


def _node(plan: dict[str, Any], name: str) -> dict[str, Any]:
    if plan.get("Subplan Name") == name:
        return plan
    for child in plan.get("Plans", []):
        with contextlib.suppress(LookupError):
            return _node(child, name)
    raise LookupError(name)


async def _claim_pages(db_url: str) -> tuple[int, int]:
    """Pages a claim reads to choose the deliveries it takes, and how many it takes,
    with BACKLOG pending deliveries behind LEASED leased ones; nothing is kept."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"${len(names)}"

    sql = re.sub(r"(?<!:):(\w+)", number, CLAIM.text)
    values: dict[str, Any] = {"per_sub": 40, "limit": 64, "lease": 60.0}
    subscription = uuid.uuid4()
    conn = await asyncpg.connect(plain_url(db_url))
    try:
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute(
                "INSERT INTO webhook_subscriptions (id, client_id, scopes, url, event_types,"
                " secret) VALUES ($1, 'claims-test', '{admin}', 'http://127.0.0.1:9/',"
                " '{*}', '\\x00')",
                subscription,
            )
            await conn.execute(
                "INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type,"
                " status, attempt, next_attempt_at)"
                " SELECT gen_random_uuid(), $1, gen_random_uuid(), 'group.created', 'pending',"
                " 0, now() - interval '1 hour' + g * interval '1 ms'"
                " FROM generate_series(1, $2) g",
                subscription,
                BACKLOG,
            )
            await conn.execute(
                "UPDATE webhook_deliveries SET lease_until = now() + interval '60 s',"
                " lease_token = gen_random_uuid() WHERE id IN (SELECT id FROM"
                " webhook_deliveries WHERE subscription_id = $1 ORDER BY next_attempt_at"
                " LIMIT $2)",
                subscription,
                LEASED,
            )
            await conn.execute("ANALYZE webhook_deliveries")
            raw = await conn.fetchval(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, *(values[n] for n in names)
            )
        finally:
            await tx.rollback()
    finally:
        await conn.close()
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    choosing = _node(plan, "CTE picked")
    return choosing["Shared Hit Blocks"] + choosing["Shared Read Blocks"], plan["Actual Rows"]


def test_a_claim_reads_the_leases_not_the_backlog(databases: Databases) -> None:
    pages, taken = asyncio.run(_claim_pages(databases.live_urls["registry"]))
    # The subscription's share: 40 leased at most, 8 already are.
    assert taken == 40 - LEASED
    assert pages < MOST_PAGES, pages
