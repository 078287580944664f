"""GET /v1/stats/training: seats per training area, checked against sessions booked
through the API."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from otog_shared.fiscal import fiscal_year_of

from tests.registry.conftest import assert_problem
from tests.support.tokens import TokenFactory
from tests.training.helpers import create_course, create_session, create_worker, day

NAN = "55"
BANGKOK = "10"


async def _book(
    training: httpx.AsyncClient,
    registry: httpx.AsyncClient,
    tokens: TokenFactory,
    session: dict[str, Any],
    people: int,
) -> None:
    writer = tokens.headers("training:read", "training:write")
    for _ in range(people):
        worker = await create_worker(registry, tokens)
        r = await training.post(
            f"/v1/training-sessions/{session['id']}/enrollments",
            json={"worker_id": worker},
            headers=writer,
        )
        assert r.status_code == 201, r.text


async def _stats(
    training: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    r = await training.get("/v1/stats/training", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _row(stats: dict[str, Any], province: str) -> dict[str, int]:
    empty = dict.fromkeys(
        (
            "sessions",
            "cancelled_sessions",
            "below_minimum_sessions",
            "capacity",
            "confirmed",
            "waitlisted",
        ),
        0,
    )
    return next((r for r in stats["rows"] if r["province_code"] == province), empty)


async def test_seats_per_province(
    training: httpx.AsyncClient, live_registry_client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    writer = tokens.headers("training:read", "training:write")
    national = tokens.headers("training:read")
    starts: date = day(30)
    year = fiscal_year_of(starts)
    before = await _stats(training, national, fiscal_year=year)

    course = str((await create_course(training, writer))["id"])
    full = await create_session(training, writer, course, province_code=NAN, venue="Nan DSD")
    short = await create_session(
        training, writer, course, province_code=NAN, venue="Nan DSD", capacity=4
    )
    cancelled = await create_session(
        training, writer, course, province_code=NAN, venue="Nan DSD", capacity=5
    )
    elsewhere = await create_session(training, writer, course, capacity=2)
    await _book(training, live_registry_client, tokens, full, 4)  # 3 seats, 1 waiting
    await _book(training, live_registry_client, tokens, short, 1)  # below its minimum of 2
    await _book(training, live_registry_client, tokens, elsewhere, 1)
    r = await training.post(
        f"/v1/training-sessions/{cancelled['id']}/cancel",
        json={"reason": "organiser", "note": "Venue flooded"},
        headers=writer,
    )
    assert r.status_code == 200, r.text

    after = await _stats(training, national, fiscal_year=year)
    nan, was = _row(after, NAN), _row(before, NAN)
    assert nan["sessions"] - was["sessions"] == 3
    assert nan["cancelled_sessions"] - was["cancelled_sessions"] == 1
    assert nan["below_minimum_sessions"] - was["below_minimum_sessions"] == 1
    assert nan["capacity"] - was["capacity"] == 3 + 4  # the cancelled session's seats: none
    assert nan["confirmed"] - was["confirmed"] == 4
    assert nan["waitlisted"] - was["waitlisted"] == 1
    assert nan["fill_rate_bps"] == nan["confirmed"] * 10_000 // nan["capacity"]
    assert _row(after, BANGKOK)["confirmed"] - _row(before, BANGKOK)["confirmed"] == 1

    # The totals are the rows' sums; the fill rate is the totals' own ratio.
    totals = after["totals"]
    for key in ("sessions", "cancelled_sessions", "capacity", "confirmed", "waitlisted"):
        assert totals[key] == sum(r[key] for r in after["rows"])
    assert totals["fill_rate_bps"] == totals["confirmed"] * 10_000 // totals["capacity"]

    # The same figures as the sessions themselves show.
    listed = await training.get(
        "/v1/training-sessions", params={"province": NAN, "limit": 100}, headers=national
    )
    mine = {s["id"]: s for s in listed.json()["items"]}
    assert mine[full["id"]]["confirmed_count"] == 3 and mine[full["id"]]["waitlist_count"] == 1

    filtered = await _stats(training, national, fiscal_year=year, province=NAN)
    assert [r["province_code"] for r in filtered["rows"]] == [NAN]
    assert filtered["rows"][0] == nan and filtered["province"] == NAN

    # Another fiscal year has none of these sessions.
    later = await _stats(training, national, fiscal_year=year + 5)
    assert later["rows"] == [] and later["totals"]["fill_rate_bps"] == 0


async def test_province_bound_and_scope(training: httpx.AsyncClient, tokens: TokenFactory) -> None:
    writer = tokens.headers("training:read", "training:write")
    course = str((await create_course(training, writer))["id"])
    await create_session(training, writer, course, province_code=NAN, venue="Nan DSD")
    await create_session(training, writer, course)
    year = fiscal_year_of(day(30))

    nan_office = tokens.headers("training:read", province=NAN)
    mine = await _stats(training, nan_office, fiscal_year=year)
    assert mine["province"] == NAN
    assert [r["province_code"] for r in mine["rows"]] == [NAN]
    other = await _stats(training, nan_office, fiscal_year=year, province=BANGKOK)
    assert other["rows"] == [] and other["totals"]["sessions"] == 0

    assert_problem(await training.get("/v1/stats/training"), 401)
    assert_problem(
        await training.get("/v1/stats/training", headers=tokens.headers("registry:read")), 403
    )
    reader = tokens.headers("training:read")
    assert_problem(
        await training.get("/v1/stats/training", params={"fiscal_year": 68}, headers=reader), 422
    )
    assert_problem(
        await training.get("/v1/stats/training", params={"province": "X1"}, headers=reader), 422
    )
