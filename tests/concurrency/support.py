"""What both halves of the randomized concurrency test share: the seed and how to
replay it, failures that name it, the answers clients got, and the log of every
``Idempotency-Key`` sent (to prove re-sends got the first answer)."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

SEED_ENV = "OTOG_CONCURRENCY_SEED"
ROUNDS_ENV = "OTOG_CONCURRENCY_ROUNDS"
DEFAULT_ROUNDS = 16
# Requests in flight at once, over as many connections.
IN_FLIGHT = 48
TOKEN_LIFETIME_USED = 300.0  # seconds; tokens live 900


@dataclass(frozen=True)
class Run:
    seed: int
    rounds: int

    @classmethod
    def from_env(cls) -> Run:
        seed = os.environ.get(SEED_ENV)
        rounds = os.environ.get(ROUNDS_ENV)
        return cls(
            seed=int(seed) if seed else random.SystemRandom().randrange(2**32),
            rounds=int(rounds) if rounds else DEFAULT_ROUNDS,
        )

    def replay(self) -> str:
        return (
            f"{SEED_ENV}={self.seed} {ROUNDS_ENV}={self.rounds} make test-concurrency"
            f"  (or: {SEED_ENV}={self.seed} {ROUNDS_ENV}={self.rounds}"
            " uv run --frozen --all-packages pytest -q tests/concurrency)"
        )


class Failures:
    """Broken invariants of the current round. Every message carries the seed and the
    command that replays the round's plan."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.round = 0
        self.found: list[str] = []

    def banner(self) -> str:
        return (
            f"seed {self.run.seed}, round {self.round} of {self.run.rounds}; "
            f"replay: {self.run.replay()}"
        )

    def check(self, ok: bool, what: str) -> bool:
        if not ok:
            self.found.append(what)
        return ok

    def raise_if_any(self) -> None:
        if not self.found:
            return
        shown = self.found[:40]
        more = len(self.found) - len(shown)
        lines = [self.banner(), *(f"  - {f}" for f in shown)]
        if more:
            lines.append(f"  … and {more} more")
        lines.append(self.banner())
        raise AssertionError("\n".join(lines))


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    replayed: bool

    @property
    def slug(self) -> str | None:
        """The problem type's slug of an error answer."""
        if self.status < 400 or not isinstance(self.body, dict):
            return None
        kind = self.body.get("type")
        return str(kind).rsplit("/", 1)[-1] if kind else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def short(self) -> str:
        text = str(self.body)
        return f"{self.status} {text[:300]}"


@dataclass
class KeyUse:
    who: int
    path: str
    body: Any
    answers: list[Answer] = field(default_factory=list)
    round: int = 0


@dataclass
class Caller:
    client_id: str
    client_secret: str
    token: str = ""
    fetched: float = 0.0


class Api:
    """The offices' HTTP client on the gateway: at most IN_FLIGHT requests at once,
    each office with its own real token, and every keyed POST logged by its key."""

    def __init__(self, client: httpx.AsyncClient, credentials: list[dict[str, str]]) -> None:
        self.client = client
        self.callers = [Caller(c["client_id"], c["client_secret"]) for c in credentials]
        self.gate = asyncio.Semaphore(IN_FLIGHT)
        self.keys: dict[tuple[int, str], KeyUse] = {}
        self.round = 0
        self.requests = 0
        self.unavailable = 0  # 503s asked again

    async def refresh_tokens(self) -> None:
        for caller in self.callers:
            if time.monotonic() - caller.fetched < TOKEN_LIFETIME_USED:
                continue
            r = await self.client.post(
                "/v1/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": caller.client_id,
                    "client_secret": caller.client_secret,
                },
            )
            assert r.status_code == 200, r.text
            caller.token = r.json()["access_token"]
            caller.fetched = time.monotonic()

    def _headers(self, who: int, key: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.callers[who].token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    async def call(
        self,
        method: str,
        path: str,
        *,
        who: int = 0,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> Answer:
        """One request, asked again as a client would: while its key is still in flight
        (its first request running), and a few times after a 503 (a dependency slow
        on a busy machine: nothing was done, and the key makes the retry safe)."""
        unavailable = 0
        for attempt in range(60):
            async with self.gate:
                self.requests += 1
                r = await self.client.request(
                    method, path, json=json, params=params, headers=self._headers(who, key)
                )
            body: Any = r.json() if r.content else None
            answer = Answer(r.status_code, body, r.headers.get("idempotent-replayed") == "true")
            if answer.status == 503 and unavailable < 3:
                unavailable += 1
                self.unavailable += 1
                await asyncio.sleep(min(float(r.headers.get("retry-after", "1")), 2.0))
                continue
            if answer.slug != "idempotency-key-in-flight":
                return answer
            await asyncio.sleep(min(0.05 * (attempt + 1), 0.5))
        return answer

    async def get(self, path: str, **params: Any) -> Answer:
        return await self.call("GET", path, params=params or None)

    async def get_all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged list."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {"limit": 200, **params}
            if cursor:
                query["cursor"] = cursor
            page = await self.call("GET", path, params=query)
            assert page.status == 200, f"GET {path}: {page.short()}"
            items += page.body["items"]
            cursor = page.body.get("next_cursor")
            if not cursor:
                return items

    async def post(
        self, path: str, body: Any = None, *, who: int = 0, key: str | None = None
    ) -> Answer:
        """A POST with an Idempotency-Key (a new one unless given), logged by key."""
        key = key or str(uuid.uuid4())
        use = self.keys.setdefault((who, key), KeyUse(who, path, body, round=self.round))
        answer = await self.call("POST", path, who=who, json=body, key=key)
        use.answers.append(answer)
        return answer

    async def resend_round(self, failures: Failures, sample: set[tuple[int, str]]) -> None:
        """Send the keys in ``sample`` once more, then check every key of the round:
        the answers that succeeded are one and the same, and only one of them did
        the work (the others are replays)."""
        await asyncio.gather(
            *(
                self.post(self.keys[k].path, self.keys[k].body, who=k[0], key=k[1])
                for k in sample
                if k in self.keys
            )
        )
        for (_, key), use in self.keys.items():
            if use.round != self.round:
                continue
            done = [a for a in use.answers if a.ok]
            if not done:
                continue
            first = done[0]
            failures.check(
                all((a.status, a.body) == (first.status, first.body) for a in done),
                f"POST {use.path} with key {key}: re-sends answered differently: "
                + " | ".join(a.short() for a in done),
            )
            failures.check(
                sum(not a.replayed for a in done) == 1,
                f"POST {use.path} with key {key}: {sum(not a.replayed for a in done)} "
                f"of {len(done)} successful answers were not replays (the work ran again)",
            )
            after_first = use.answers[use.answers.index(first) :]
            failures.check(
                all(a.ok for a in after_first),
                f"POST {use.path} with key {key}: a re-send after the first success failed: "
                + " | ".join(a.short() for a in after_first),
            )
