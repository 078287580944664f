"""Deliveries end to end: a real registry process, real worker processes, and a real
HTTP receiver that verifies every signature with ``standardwebhooks`` and parses every
body as a CloudEvent."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest
from otog_devstack.postgres import plain_url
from otog_registry.settings import RegistrySettings
from prometheus_client import CollectorRegistry, multiprocess

from tests.support.stack import Databases
from tests.webhooks.conftest import Api
from tests.webhooks.support import (
    Event,
    Receiver,
    WorkerProcess,
    always,
    fetch,
    record_events,
    wait_for,
)

Receivers = Callable[..., Receiver]
Workers = Callable[..., WorkerProcess]


def _subscribe(
    api: Api,
    receiver: Receiver,
    *scopes: str,
    client_id: str = "partner",
    province: str | None = None,
    event_types: list[str] | None = None,
    url: str | None = None,
) -> str:
    with api.client(*scopes, province=province, client_id=client_id) as http:
        r = http.post(
            "/v1/webhooks",
            json={"url": url or receiver.url, "event_types": event_types or ["*"]},
        )
        assert r.status_code == 201, r.text
        receiver.secrets = [r.json()["secret"]]
        return str(r.json()["id"])


def _deliveries(api: Api, hook: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    with api.client("admin", client_id="ops") as http:
        cursor = None
        while True:
            params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = http.get(f"/v1/webhooks/{hook}/deliveries", params=params).json()
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items


def test_events_arrive_signed_as_cloudevents(
    api: Api, databases: Databases, receivers: Receivers, start_worker: Workers
) -> None:
    receiver = receivers()
    hook = _subscribe(api, receiver, "registry:read")
    start_worker()
    events = [Event("group.created"), Event("group.stage_changed", province_code=None)]
    ids = record_events(databases.live_urls["registry"], events)

    wait_for(lambda: receiver.ids() == set(ids), what="both events")
    assert receiver.refused == []
    by_id = {r.event_id: r for r in receiver.received}
    first = by_id[ids[0]].event
    assert first["specversion"] == "1.0"
    assert first["type"] == "group.created"
    assert first["source"] == "/otog/registry"
    assert first["subject"] == events[0].subject
    assert first["datacontenttype"] == "application/json"
    assert first["provincecode"] == "10"
    assert first["data"] == events[0].data
    assert "provincecode" not in by_id[ids[1]].event
    assert by_id[ids[0]].headers["webhook-id"] == ids[0]
    wait_for(
        lambda: all(d["status"] == "succeeded" for d in _deliveries(api, hook)),
        what="the log to show success",
    )
    log = _deliveries(api, hook)
    assert {d["event_id"] for d in log} == set(ids)
    assert all(d["attempt"] == 1 and d["response_status"] == 204 for d in log)


def _deliveries_counted(metrics_dir: Path) -> dict[str, float]:
    """The worker's `otog_webhook_deliveries_total` by outcome, read from its files."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(metrics_dir))
    counted: dict[str, float] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == "otog_webhook_deliveries_total":
                counted[sample.labels["outcome"]] = sample.value
    return counted


def test_receiver_that_fails_then_recovers_gets_everything(
    api: Api,
    databases: Databases,
    receivers: Receivers,
    start_worker: Workers,
    tmp_path: Path,
) -> None:
    def flaky(n: int) -> tuple[int, dict[str, str], float]:
        if n <= 10:
            return 503, {"Retry-After": "1"}, 0.0
        if n <= 25:
            return 500, {}, 0.0
        return 200, {}, 0.0

    receiver = receivers(behaviour=flaky)
    hook = _subscribe(api, receiver, "registry:read")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    start_worker(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    ids = record_events(
        databases.live_urls["registry"], [Event("group.created") for _ in range(20)]
    )

    wait_for(lambda: receiver.ids() == set(ids), timeout=60, what="every event")
    # Counted once recorded: 20 delivered, 25 refused attempts to retry (at least: an
    # attempt whose lease lapsed is made again).
    wait_for(
        lambda: (
            _deliveries_counted(metrics_dir).get("delivered", 0) >= 20
            and _deliveries_counted(metrics_dir).get("failed", 0) >= 25
        ),
        timeout=30,
        what="the worker's delivery counters",
    )
    assert _deliveries_counted(metrics_dir).get("abandoned", 0) == 0
    assert receiver.refused == []
    log = _deliveries(api, hook)
    assert all(d["status"] == "succeeded" for d in log)
    assert max(int(str(d["attempt"])) for d in log) > 1
    with api.client("admin", client_id="ops") as http:
        assert http.get(f"/v1/webhooks/{hook}").json()["enabled"] is True


def test_gone_disables_the_subscription(
    api: Api, databases: Databases, receivers: Receivers, start_worker: Workers
) -> None:
    receiver = receivers(behaviour=always(410))
    hook = _subscribe(api, receiver, "registry:read")
    start_worker()
    record_events(databases.live_urls["registry"], [Event("group.created")])

    def disabled() -> bool:
        with api.client("admin", client_id="ops") as http:
            return http.get(f"/v1/webhooks/{hook}").json()["enabled"] is False

    wait_for(disabled, what="the subscription to be disabled")
    with api.client("admin", client_id="ops") as http:
        body = http.get(f"/v1/webhooks/{hook}").json()
    assert "410" in body["disabled_reason"]
    [delivery] = _deliveries(api, hook)
    assert delivery["status"] == "failed"
    assert delivery["response_status"] == 410


def test_rotation_signs_with_both_secrets_during_the_overlap(
    api: Api, receivers: Receivers, start_worker: Workers
) -> None:
    receiver = receivers()
    hook = _subscribe(api, receiver, "registry:read")
    old = receiver.secrets[0]
    with api.client("registry:read", client_id="partner") as http:
        new = http.post(f"/v1/webhooks/{hook}/rotate-secret").json()["secret"]
        receiver.secrets = [old, new]
        ping = http.post(f"/v1/webhooks/{hook}/ping")
        assert ping.status_code == 202
    start_worker()

    wait_for(lambda: len(receiver.received) == 1, what="the ping")
    [got] = receiver.received
    assert got.event_id == ping.json()["event_id"]
    assert got.event["type"] == "webhook.ping"
    assert sorted(got.verified_by) == sorted([old, new])
    assert len(got.headers["webhook-signature"].split(" ")) == 2


def test_kill_9_in_a_burst_loses_nothing(
    api: Api, databases: Databases, receivers: Receivers, start_worker: Workers
) -> None:
    receiver = receivers(behaviour=lambda _n: (200, {}, 0.01))
    _subscribe(api, receiver, "registry:read")
    ids = record_events(
        databases.live_urls["registry"], [Event("group.created") for _ in range(200)]
    )
    first = start_worker()
    wait_for(lambda: len(receiver.ids()) >= 20, what="the burst to start")
    first.kill()
    assert len(receiver.ids()) < len(ids), "the burst ended before the kill"
    start_worker()
    start_worker()  # a replica beside the restart

    wait_for(lambda: receiver.ids() == set(ids), timeout=90, what="every event")
    assert receiver.refused == []
    # At least once, and no more than that: only deliveries leased at the kill may
    # arrive twice (with these settings' lease and timeout a worker claims none ahead,
    # so at most the subscription's slots); the two replicas after it never claim one
    # delivery both.
    again = sum(1 for c in Counter(r.event_id for r in receiver.received).values() if c > 1)
    assert again <= RegistrySettings().webhook_concurrency_per_subscription


def test_province_bound_subscription_sees_only_its_province(
    api: Api, databases: Databases, receivers: Receivers, start_worker: Workers
) -> None:
    national = receivers()
    provincial = receivers()
    _subscribe(api, national, "admin", client_id="ops")
    hook = _subscribe(api, provincial, "registry:read", client_id="chiang-mai", province="50")
    events = [
        Event("group.created", province_code="50"),
        Event("group.created", province_code="10"),
        Event("loan.approved", province_code="50"),  # needs loans:read
        Event("session.created", province_code=None),
        Event("product.created", province_code="50"),
    ]
    ids = record_events(databases.live_urls["registry"], events)
    start_worker()

    wait_for(lambda: national.ids() == set(ids), what="the national subscription")
    wait_for(lambda: len(provincial.ids()) >= 2, what="the provincial subscription")
    assert provincial.ids() == {ids[0], ids[4]}
    assert {d["event_id"] for d in _deliveries(api, hook)} == {ids[0], ids[4]}


@pytest.mark.slow
def test_a_slow_receiver_does_not_delay_another_subscription(
    api: Api, databases: Databases, receivers: Receivers, start_worker: Workers
) -> None:
    slow = receivers(behaviour=lambda _n: (200, {}, 2.5))
    quick = receivers()
    _subscribe(api, slow, "registry:read", client_id="slow")
    _subscribe(api, quick, "registry:read", client_id="quick")
    ids = record_events(
        databases.live_urls["registry"], [Event("group.created") for _ in range(40)]
    )
    start_worker()

    wait_for(lambda: quick.ids() == set(ids), what="the quick receiver")
    # The slow one answers 4 at a time (its slots), 2.5 s each: 25 s for all 40. Had
    # the quick one waited behind it, it would have finished after it.
    assert len(slow.ids()) < len(ids)
    wait_for(lambda: slow.ids() == set(ids), timeout=90, what="the slow receiver")


def test_target_refused_at_delivery_after_dns_rebinding(
    api: Api, databases: Databases, receivers: Receivers, start_worker: Workers
) -> None:
    receiver = receivers()
    port = receiver.url.split(":")[2].split("/")[0]
    # The registry resolves the name to loopback (allowed here); the worker, later,
    # to a private address.
    hook = _subscribe(api, receiver, "registry:read", url=f"http://rebind.example:{port}/hook")
    start_worker()
    record_events(databases.live_urls["registry"], [Event("group.created")])

    wait_for(lambda: any(d["status"] == "failed" for d in _deliveries(api, hook)), what="failure")
    [delivery] = _deliveries(api, hook)
    assert "10.0.0.1" in str(delivery["error"])
    assert delivery["response_status"] is None
    assert receiver.requests == 0


def test_replay_sends_the_window_again(
    api: Api, databases: Databases, receivers: Receivers, start_worker: Workers
) -> None:
    receiver = receivers()
    hook = _subscribe(api, receiver, "registry:read")
    start_worker()
    ids = record_events(
        databases.live_urls["registry"], [Event("visit.recorded") for _ in range(3)]
    )
    wait_for(lambda: receiver.ids() == set(ids), what="first delivery")
    [since] = fetch(
        databases.live_urls["registry"],
        "SELECT min(occurred_at) AS t FROM event_log WHERE id = ANY($1::uuid[])",
        [uuid.UUID(i) for i in ids],
    )
    with api.client("registry:read", client_id="partner") as http:
        r = http.post(f"/v1/webhooks/{hook}/replay", json={"since": since["t"].isoformat()})
    assert r.status_code == 202, r.text
    assert r.json()["deliveries"] == 3

    wait_for(lambda: len(receiver.received) == 6, what="the replay")
    assert Counter(x.event_id for x in receiver.received) == dict.fromkeys(ids, 2)


def test_an_event_committed_late_is_not_skipped(
    api: Api, databases: Databases, receivers: Receivers, start_worker: Workers
) -> None:
    """Two transactions commit out of order; the fan-out has already moved past the
    one that committed first when the other commits. Both are delivered."""
    receiver = receivers()
    _subscribe(api, receiver, "registry:read")
    start_worker()
    url = plain_url(databases.live_urls["registry"])
    late, early = Event("group.created"), Event("group.created")

    async def scenario() -> None:
        slow = await asyncpg.connect(url)
        try:
            tx = slow.transaction()
            await tx.start()
            await slow.execute(
                "INSERT INTO event_log (id, source, source_position, type, subject, "
                "province_code, data, occurred_at) "
                "VALUES ($1, '/otog/training', 1, 'group.created', $2, '10', '{}', now())",
                late.id,
                late.subject,
            )
            # Meanwhile another transaction commits and is delivered.
            await asyncio.to_thread(record_events, databases.live_urls["registry"], [early])
            await asyncio.to_thread(wait_for, lambda: str(early.id) in receiver.ids())
            await tx.commit()
        finally:
            await slow.close()

    fetch(databases.live_urls["registry"], "DELETE FROM event_log WHERE source = '/otog/training'")
    asyncio.run(scenario())
    wait_for(lambda: str(late.id) in receiver.ids(), what="the late event")


def test_failing_for_the_disable_period_disables_and_says_why(
    api: Api, databases: Databases, receivers: Receivers, start_worker: Workers
) -> None:
    receiver = receivers(behaviour=always(500))
    hook = _subscribe(api, receiver, "registry:read")
    # Three days in production; two seconds here.
    start_worker(REGISTRY_WEBHOOK_DISABLE_AFTER_SECONDS="2")
    record_events(databases.live_urls["registry"], [Event("group.created")])

    def subscription() -> dict[str, object]:
        with api.client("admin", client_id="ops") as http:
            body: dict[str, object] = http.get(f"/v1/webhooks/{hook}").json()
            return body

    wait_for(lambda: subscription()["enabled"] is False, what="the subscription to be disabled")
    reason = str(subscription()["disabled_reason"])
    assert reason.startswith("every delivery has failed since ")
    assert "HTTP 500" in reason
    [delivery] = _deliveries(api, hook)
    assert int(str(delivery["attempt"])) >= 2
    assert delivery["response_status"] == 500


def test_a_notified_event_is_delivered_without_waiting_for_the_poll(
    api: Api, receivers: Receivers, start_worker: Workers, databases: Databases
) -> None:
    """With a poll far longer than the wait below, only the notification sent with
    the commit can bring the worker to these events in time."""
    receiver = receivers()
    hook = _subscribe(api, receiver, "registry:read")
    start_worker(REGISTRY_WEBHOOK_POLL_SECONDS="120")
    # The worker is up and listening once a ping (itself notified) has arrived.
    with api.client("registry:read", client_id="partner") as http:
        ping = http.post(f"/v1/webhooks/{hook}/ping").json()
    wait_for(lambda: ping["event_id"] in receiver.ids(), what="the ping")
    ids = record_events(
        databases.live_urls["registry"], [Event("group.created") for _ in range(3)], notify=True
    )
    wait_for(lambda: set(ids) <= receiver.ids(), timeout=20, what="the notified events")


def test_events_whose_notification_is_lost_are_delivered_by_the_fallback_poll(
    api: Api, receivers: Receivers, start_worker: Workers, databases: Databases
) -> None:
    receiver = receivers()
    _subscribe(api, receiver, "registry:read")
    start_worker()
    ids = record_events(
        databases.live_urls["registry"], [Event("group.created") for _ in range(3)], notify=False
    )
    wait_for(lambda: set(ids) <= receiver.ids(), what="the events")


def test_without_subscriptions_the_worker_passes_over_the_feed(
    api: Api, receivers: Receivers, start_worker: Workers, databases: Databases
) -> None:
    """No subscription enabled: the fan-out moves its cursor to the end of the feed
    and queues nothing; once one is made, only what comes after it is delivered.
    The worker runs at the configured lower CPU priority."""
    url = databases.live_urls["registry"]
    worker = start_worker(REGISTRY_WEBHOOK_WORKER_NICE="7")
    before = record_events(url, [Event("group.created") for _ in range(3)], notify=True)
    top = fetch(url, "SELECT max(position) AS top FROM event_log")[0]["top"]
    wait_for(
        lambda: fetch(url, "SELECT position FROM webhook_fanout_cursor")[0]["position"] >= top,
        what="the cursor at the end of the feed",
    )
    assert fetch(url, "SELECT count(*) AS n FROM webhook_deliveries")[0]["n"] == 0
    stat = Path(f"/proc/{worker.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    assert int(stat[16]) == 7  # niceness: field 19 of the whole line

    receiver = receivers()
    _subscribe(api, receiver, "registry:read")
    after = record_events(url, [Event("group.created") for _ in range(2)], notify=True)
    wait_for(lambda: set(after) <= receiver.ids(), what="the events after the subscription")
    assert not set(before) & receiver.ids()
