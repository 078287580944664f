"""Seats: random bookings, cancellations and capacity changes of a few small sessions,
and the invariants that must hold after every round whatever the interleaving.

A round's plan is drawn from the seeded generator with a fixed number of draws per
operation, so the same seed gives the same plan (which session, which worker, which
capacity) whatever happened before; which concrete enrolment a cancellation hits is
resolved from the state read at the end of the previous round."""

from __future__ import annotations

import asyncio
import json
import os
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from tests.concurrency.support import Answer, Api, Failures
from tests.training.helpers import course_body, national_id, session_body

# Capacity changes are sent with the bookings (a booking racing a capacity change was
# once answered 409 already-enrolled with nothing stored; see
# tests/training/test_serial_booking_resize_race.py). OTOG_CONCURRENCY_RESIZE_RACE=0
# sends them in a second wave of each round instead, racing cancellations and each other.
RESIZES_RACE_BOOKINGS = os.environ.get("OTOG_CONCURRENCY_RESIZE_RACE", "1") not in ("", "0")
SESSIONS = 4
WORKERS = 60
BOOKINGS_PER_ROUND = 24
CANCELS_PER_ROUND = 10
LIVE = ("confirmed", "waitlisted")


@dataclass
class Session:
    id: str
    capacity: int
    minimum: int
    # Enrolment ids in queue order, as read at the end of the last round.
    waiting: list[str] = field(default_factory=list)


@dataclass
class Enrolment:
    id: str
    session: int
    worker: int
    told: str
    told_position: int | None
    cancelled: bool = False  # a cancellation of it was answered 200
    status: str = ""  # as read at the end of the last round


@dataclass(frozen=True)
class Book:
    session: int
    worker: int
    who: int
    twin: bool  # the same worker booked twice at once, under two keys
    resend: bool  # the same request sent twice at once, under one key


@dataclass(frozen=True)
class Cancel:
    session: int
    pick: float
    which: str  # confirmed, waitlisted or (expecting 409) cancelled
    who: int
    twin: bool


@dataclass(frozen=True)
class Resize:
    session: int
    capacity: int
    who: int


@dataclass
class SeatPlan:
    books: list[Book]
    cancels: list[Cancel]
    resizes: list[Resize]


def draw_plan(rng: random.Random) -> SeatPlan:
    books = [
        Book(
            rng.randrange(SESSIONS),
            rng.randrange(WORKERS),
            rng.randrange(2),
            rng.random() < 0.12,
            rng.random() < 0.15,
        )
        for _ in range(BOOKINGS_PER_ROUND)
    ]
    cancels = [
        Cancel(
            rng.randrange(SESSIONS),
            rng.random(),
            rng.choices(["confirmed", "waitlisted", "cancelled"], [45, 45, 10])[0],
            rng.randrange(2),
            rng.random() < 0.1,
        )
        for _ in range(CANCELS_PER_ROUND)
    ]
    resizes = []
    for s in range(SESSIONS):
        change, capacity, who = rng.random() < 0.45, rng.randint(3, 20), rng.randrange(2)
        if change:
            resizes.append(Resize(s, capacity, who))
    return SeatPlan(books, cancels, resizes)


class Seats:
    def __init__(self, api: Api, failures: Failures, training_db: asyncpg.Connection) -> None:
        self.api = api
        self.failures = failures
        self.db = training_db
        self.sessions: list[Session] = []
        self.workers: list[str] = []
        self.enrolments: dict[str, Enrolment] = {}
        self._round: dict[str, Any] = {}
        # (session id, worker id) of bookings answered wrongly: their rows and
        # events go into the failure.
        self._suspects: list[tuple[str, str]] = []

    # --- setup ---------------------------------------------------------------

    async def setup(self, rng: random.Random) -> None:
        course = await self.api.post("/v1/courses", course_body())
        assert course.status == 201, course.short()
        for _ in range(SESSIONS):
            capacity, minimum = rng.randint(3, 20), rng.randint(2, 3)
            r = await self.api.post(
                "/v1/training-sessions",
                session_body(course.body["id"], capacity=capacity, minimum=minimum),
            )
            assert r.status == 201, r.short()
            self.sessions.append(Session(r.body["id"], capacity, minimum))

        async def worker() -> str:
            r = await self.api.post(
                "/v1/workers",
                {
                    "national_id": national_id(),
                    "first_name_th": "สมศรี",
                    "last_name_th": "ทดสอบ",
                    "subdistrict_code": "100101",
                    "birth_date": "1980-05-17",
                },
            )
            assert r.status == 201, r.short()
            return str(r.body["id"])

        self.workers = list(await asyncio.gather(*(worker() for _ in range(WORKERS))))

    # --- a round -------------------------------------------------------------

    def operations(self, plan: SeatPlan) -> tuple[list[Awaitable[None]], list[Awaitable[None]]]:
        """The round's requests (not yet sent), in two waves (the second starts when
        the first has been answered); cancellations resolved against the state read at
        the end of the last round."""
        books: list[tuple[Book, Answer]] = []
        cancels: list[tuple[str, Answer]] = []
        resizes: list[tuple[Resize, Answer]] = []
        targets: dict[str, bool] = {}  # enrolment id → live at the start
        self._round = {
            "plan": plan,
            "books": books,
            "cancels": cancels,
            "resizes": resizes,
            "targets": targets,
            "seated": {i: self._seated(i) for i in range(len(self.sessions))},
        }
        ops: list[Awaitable[None]] = []
        later: list[Awaitable[None]] = []

        async def book(op: Book, key: str | None) -> None:
            s = self.sessions[op.session]
            answer = await self.api.post(
                f"/v1/training-sessions/{s.id}/enrollments",
                {"worker_id": self.workers[op.worker]},
                who=op.who,
                key=key,
            )
            books.append((op, answer))

        async def cancel(enrolment_id: str, who: int) -> None:
            answer = await self.api.post(f"/v1/enrollments/{enrolment_id}/cancel", who=who)
            cancels.append((enrolment_id, answer))

        async def resize(op: Resize) -> None:
            s = self.sessions[op.session]
            answer = await self.api.call(
                "PATCH", f"/v1/training-sessions/{s.id}", who=op.who, json={"capacity": op.capacity}
            )
            resizes.append((op, answer))

        for op in plan.books:
            key = str(uuid.uuid4())
            ops.append(book(op, key))
            if op.resend:
                ops.append(book(op, key))
            if op.twin:
                ops.append(book(op, None))
        for n, c in enumerate(plan.cancels):
            wave = ops if RESIZES_RACE_BOOKINGS or n % 2 == 0 else later
            candidates = [
                e
                for e in self.enrolments.values()
                if e.session == c.session and e.status == c.which and e.id not in targets
            ]
            if not candidates:
                continue
            target = candidates[int(c.pick * len(candidates))]
            targets[target.id] = c.which in LIVE
            wave.append(cancel(target.id, c.who))
            if c.twin:
                wave.append(cancel(target.id, 1 - c.who))
        (ops if RESIZES_RACE_BOOKINGS else later).extend(resize(op) for op in plan.resizes)
        return ops, later

    def _seated(self, session: int) -> int:
        return sum(
            e.session == session and e.status == "confirmed" for e in self.enrolments.values()
        )

    def judge(self) -> dict[str, int]:
        """Each answer against what this round could legally have answered."""
        check = self.failures.check
        rnd = self._round
        books: list[tuple[Book, Answer]] = rnd["books"]
        cancels: list[tuple[str, Answer]] = rnd["cancels"]
        resizes: list[tuple[Resize, Answer]] = rnd["resizes"]
        targets: dict[str, bool] = rnd["targets"]
        tally: Counter[str] = Counter()

        cancelled_now: set[str] = set()
        by_target: dict[str, list[Answer]] = defaultdict(list)
        for enrolment_id, a in cancels:
            by_target[enrolment_id].append(a)
            tally[f"cancel {a.status}"] += 1
            if a.ok:
                check(
                    a.status == 200 and a.body["status"] == "cancelled",
                    f"cancel {enrolment_id}: {a.short()}",
                )
            else:
                check(
                    a.status == 409 and a.slug == "wrong-state",
                    f"cancel {enrolment_id}: unexpected {a.short()}",
                )
        for enrolment_id, answers in by_target.items():
            done = {a.body["id"] for a in answers if a.ok}
            expected = 1 if targets[enrolment_id] else 0
            check(
                len(done) == expected,
                f"cancel {enrolment_id} (live at the start: {targets[enrolment_id]}): "
                f"{len(done)} cancellations succeeded, expected {expected}: "
                + " | ".join(a.short() for a in answers),
            )
            if done:
                cancelled_now.add(enrolment_id)
                self.enrolments[enrolment_id].cancelled = True

        by_pair: dict[tuple[int, int], list[Answer]] = defaultdict(list)
        for op, a in books:
            by_pair[op.session, op.worker].append(a)
            tally[f"book {a.status}"] += 1
            if a.ok:
                status, position = a.body["status"], a.body.get("waitlist_position")
                check(
                    a.status == 201
                    and (
                        (status == "confirmed" and position is None)
                        or (status == "waitlisted" and isinstance(position, int) and position >= 1)
                    ),
                    f"booking of worker {op.worker} in session {op.session}: {a.short()}",
                )
            else:
                check(
                    a.status == 409 and a.slug == "already-enrolled",
                    f"booking of worker {op.worker} in session {op.session}: {a.short()}",
                )
        for (s, w), answers in by_pair.items():
            live = [
                e
                for e in self.enrolments.values()
                if e.session == s and e.worker == w and e.status in LIVE
            ]
            freed = all(e.id in cancelled_now for e in live)
            created = {a.body["id"]: a for a in answers if a.ok}
            if not live:
                ok = len(created) == 1
            elif freed:
                ok = len(created) <= 1
            else:
                ok = not created
            if not ok:
                self._suspects.append((self.sessions[s].id, self.workers[w]))
            check(
                ok,
                f"bookings of worker {w} in session {s} (live enrolment at the start: "
                f"{[e.id for e in live]}, cancelled this round: {freed and bool(live)}): "
                f"{len(created)} enrolments created: " + " | ".join(a.short() for a in answers),
            )
            for enrolment_id, a in created.items():
                self.enrolments[enrolment_id] = Enrolment(
                    enrolment_id, s, w, a.body["status"], a.body.get("waitlist_position")
                )

        for change, a in resizes:
            session = self.sessions[change.session]
            name = f"capacity {change.capacity} of session {change.session}"
            tally[f"resize {a.status}"] += 1
            booked = sum(o.session == change.session and a2.ok for o, a2 in books)
            seated = rnd["seated"][change.session]
            if a.status == 200:
                check(a.body["capacity"] == change.capacity, f"{name}: {a.short()}")
                session.capacity = change.capacity
            elif check(
                a.status == 409 and a.slug == "capacity-below-confirmed",
                f"{name}: unexpected {a.short()}",
            ):
                told_capacity = a.body.get("capacity", change.capacity)
                told_confirmed = a.body.get("confirmed_count", change.capacity + 1)
                check(
                    told_capacity == change.capacity and told_confirmed > change.capacity,
                    f"{name} refused with {a.short()}",
                )
                # Nobody could have held more seats than at the start plus this
                # round's bookings: a refusal under that is unfounded.
                check(
                    change.capacity < seated + booked,
                    f"{name} refused although at most {seated} + {booked} seats were ever "
                    f"taken: {a.short()}",
                )
        return dict(tally)

    # --- invariants ----------------------------------------------------------

    async def check(self) -> None:
        check = self.failures.check
        ids = [uuid.UUID(s.id) for s in self.sessions]
        rows = await self.db.fetch(
            "SELECT id::text, session_id::text, worker_id::text, status FROM enrollments"
            " WHERE session_id = ANY($1::uuid[])",
            ids,
        )
        status_of = {r["id"]: r["status"] for r in rows}
        for session_id, worker_id in self._suspects:
            found = [
                dict(r)
                for r in rows
                if (r["session_id"], r["worker_id"]) == (session_id, worker_id)
            ]
            told = await self.db.fetch(
                "SELECT type, data::text FROM outbox WHERE data->>'session_id' = $1"
                " AND data->>'worker_id' = $2 ORDER BY position",
                session_id,
                worker_id,
            )
            check(
                False,
                f"worker {worker_id} in session {session_id}: rows {found}, "
                f"events {[tuple(t) for t in told]}",
            )
        self._suspects.clear()
        check(
            set(status_of) == set(self.enrolments),
            "enrolments stored and enrolments the clients were given (201) differ: stored only "
            f"{sorted(set(status_of) - set(self.enrolments))[:5]}, "
            f"told only {sorted(set(self.enrolments) - set(status_of))[:5]}",
        )
        live_pairs = Counter(
            (r["session_id"], r["worker_id"]) for r in rows if r["status"] != "cancelled"
        )
        doubled = [pair for pair, n in live_pairs.items() if n > 1]
        check(not doubled, f"workers with two live enrolments in one session: {doubled[:5]}")

        counters = await self._counters(ids)
        events = await self._events()
        confirmed_events = Counter(
            e["data"]["session_id"] for e in events if e["type"] == "session.confirmed"
        )

        for index, s in enumerate(self.sessions):
            name = f"session {index} ({s.id})"
            got = await self.api.get(f"/v1/training-sessions/{s.id}")
            if not check(got.status == 200, f"GET {name}: {got.short()}"):
                continue
            listed = await self.api.get_all(f"/v1/training-sessions/{s.id}/enrollments")
            api_status = {e["id"]: e["status"] for e in listed}
            mine = {i for i, e in self.enrolments.items() if e.session == index}
            check(
                api_status == {i: status_of.get(i) for i in mine},
                f"{name}: the API's enrolments differ from the rows",
            )
            seated = sum(v in ("confirmed", "completed") for v in api_status.values())
            queue = sorted(
                (e["waitlist_position"], e["id"]) for e in listed if e["status"] == "waitlisted"
            )
            positions = [p for p, _ in queue]
            body = got.body
            check(
                body["capacity"] == s.capacity,
                f"{name}: capacity {body['capacity']}, "
                f"expected {s.capacity} (the last change answered 200)",
            )
            check(
                seated <= body["capacity"], f"{name}: {seated} seated > capacity {body['capacity']}"
            )
            check(
                body["confirmed_count"] == seated and body["waitlist_count"] == len(queue),
                f"{name}: counts {body['confirmed_count']}/{body['waitlist_count']}, "
                f"rows {seated}/{len(queue)}",
            )
            if index in counters:
                check(
                    counters[index] == (seated, len(queue)),
                    f"{name}: stored counters {counters[index]}, rows {(seated, len(queue))}",
                )
            check(
                seated == body["capacity"] or not queue,
                f"{name}: {len(queue)} waiting beside {body['capacity'] - seated} free seats",
            )
            check(
                positions == list(range(1, len(queue) + 1)),
                f"{name}: waitlist positions {positions[:30]}",
            )
            reached = body["status"] == "confirmed"
            check(
                confirmed_events[s.id] == (1 if reached else 0),
                f"{name} is {body['status']}; session.confirmed events: {confirmed_events[s.id]}",
            )
            self._check_order(index, s, [i for _, i in queue])
            s.waiting = [i for _, i in queue]

        self._check_told(status_of)
        self._check_events(events, status_of)
        for i, e in self.enrolments.items():
            e.status = status_of.get(i, "")

    async def _counters(self, ids: list[uuid.UUID]) -> dict[int, tuple[int, int]]:
        """The sessions' stored counters, where the schema keeps them."""
        has = await self.db.fetchval(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = "
            "'training_sessions' AND column_name IN ('confirmed_count', 'waitlist_count')"
        )
        if has != 2:
            return {}
        rows = await self.db.fetch(
            "SELECT id::text, confirmed_count, waitlist_count FROM training_sessions"
            " WHERE id = ANY($1::uuid[])",
            ids,
        )
        index = {s.id: i for i, s in enumerate(self.sessions)}
        return {index[r["id"]]: (r["confirmed_count"], r["waitlist_count"]) for r in rows}

    def _check_order(self, index: int, s: Session, queue: list[str]) -> None:
        """Arrival order: whoever waited at the end of the last round and still waits
        is ahead of everyone who booked since, in the same order as before; nobody
        was seated past someone ahead of them; and while someone from before still
        waits, nobody booking this round was given a seat."""
        check = self.failures.check
        name = f"session {index}"
        before, waiting = s.waiting, set(queue)
        still = [i for i in before if i in waiting]
        check(
            queue[: len(still)] == still,
            f"{name}: the queue lost its order: before {before}, now {queue}",
        )
        for ahead_at, ahead in enumerate(before):
            if ahead not in waiting:
                continue
            # Left the queue without being cancelled by us: seated.
            passed = [
                i
                for i in before[ahead_at + 1 :]
                if i not in waiting and not self.enrolments[i].cancelled
            ]
            check(
                not passed,
                f"{name}: {passed} were seated while {ahead}, ahead of them, still waits",
            )
        if still:
            seated_new = [
                a.body["id"]
                for op, a in self._round["books"]
                if op.session == index and a.ok and a.body["status"] == "confirmed"
            ]
            check(
                not seated_new,
                f"{name}: bookings {seated_new} got a seat while {still[0]} waited from before",
            )

    def _check_told(self, status_of: dict[str, str]) -> None:
        """Every 201 is stored with what its client was told, or a later legal status."""
        for i, e in self.enrolments.items():
            now = status_of.get(i)
            if e.cancelled:
                legal = {"cancelled"}
            elif e.told == "confirmed":
                legal = {"confirmed"}
            else:
                legal = {"waitlisted", "confirmed"}
            self.failures.check(
                now in legal,
                f"enrolment {i} was told {e.told}, cancelled by us: {e.cancelled}; now {now}",
            )

    async def _events(self) -> list[dict[str, Any]]:
        rows = await self.db.fetch(
            "SELECT type, subject, data::text AS data FROM outbox"
            " WHERE (type LIKE 'enrollment.%' OR type LIKE 'session.%')"
            "   AND data->>'session_id' = ANY($1::text[])"
            " ORDER BY position",
            [s.id for s in self.sessions],
        )
        return [
            {"type": r["type"], "subject": r["subject"], "data": json.loads(r["data"])}
            for r in rows
        ]

    def _check_events(self, events: list[Any], status_of: dict[str, str]) -> None:
        """The outbox tells each enrolment's history: one confirmed or waitlisted event
        when booked (what the client was told), a promotion only from the queue, a
        cancellation only of a live one, ending where the row is."""
        check = self.failures.check
        history: dict[str, list[Any]] = defaultdict(list)
        for e in events:
            if e["type"].startswith("enrollment."):
                history[str(e["data"]["enrollment_id"])].append(e)
        check(
            set(history) == set(status_of),
            f"enrolments with events and enrolments stored differ: "
            f"{sorted(set(history) ^ set(status_of))[:5]}",
        )
        for i, told in history.items():
            kinds = [e["type"] for e in told]
            booked = [k for k in kinds if k in ("enrollment.confirmed", "enrollment.waitlisted")]
            if not check(
                len(booked) == 1 and kinds[0] == booked[0],
                f"enrolment {i}: events {kinds}",
            ):
                continue
            state = booked[0].split(".")[1]
            mine = self.enrolments.get(i)
            if mine is not None:
                check(
                    state == mine.told
                    and told[0]["data"].get("waitlist_position") == mine.told_position,
                    f"enrolment {i}: told {mine.told} {mine.told_position}, "
                    f"event {kinds[0]} {told[0]['data']}",
                )
            for e in told[1:]:
                if e["type"] == "enrollment.promoted" and state == "waitlisted":
                    state = "confirmed"
                elif e["type"] == "enrollment.cancelled" and state in LIVE:
                    check(
                        e["data"].get("previous_status") in (None, state),
                        f"enrolment {i}: cancelled as {e['data'].get('previous_status')}"
                        f" while {state}",
                    )
                    state = "cancelled"
                else:
                    check(False, f"enrolment {i}: {e['type']} while {state} ({kinds})")
            check(
                state == status_of.get(i),
                f"enrolment {i}: events {kinds} end {state}, the row is {status_of.get(i)}",
            )
