"""A group's journey through the programme.

A group's ``status`` is its stage. The journey runs one step at a time::

    registered → prototype → training → product_development → funding → marketing

- ``registered``: a new group (every group starts here).
- ``prototype``: selected as its subdistrict's prototype (ต้นแบบ) for a fiscal year;
  at most one group per subdistrict per fiscal year.
- ``training``: in the full-cycle skills training (ฝึกอบรมพัฒนาทักษะ).
- ``product_development``: quality process, packaging, certification, logo.
- ``funding``: applying for or using the programme's interest-free loans.
- ``marketing``: linked to markets through the partner ministries.

Besides the journey:

- any stage except ``dissolved`` → ``suspended`` (activity paused; no loans);
- ``suspended`` → the stage the group held when it was suspended (resumed);
- any stage → ``dissolved`` (final; nothing follows).

Anything else, including a change to the stage the group is already in, is
refused with 409 ``/problems/illegal-stage-transition``.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    registered = "registered"
    prototype = "prototype"
    training = "training"
    product_development = "product_development"
    funding = "funding"
    marketing = "marketing"
    suspended = "suspended"
    dissolved = "dissolved"


JOURNEY: tuple[Stage, ...] = (
    Stage.registered,
    Stage.prototype,
    Stage.training,
    Stage.product_development,
    Stage.funding,
    Stage.marketing,
)

# Groups in these states may not take part (no loans, not in the public catalogue).
INACTIVE: frozenset[Stage] = frozenset({Stage.suspended, Stage.dissolved})


def next_in_journey(stage: Stage) -> Stage | None:
    if stage not in JOURNEY:
        return None
    i = JOURNEY.index(stage)
    return JOURNEY[i + 1] if i + 1 < len(JOURNEY) else None


def allowed_targets(current: Stage, resumes_to: Stage | None = None) -> list[Stage]:
    """Where a group may go from ``current``; ``resumes_to`` is the stage a
    suspended group held before it was suspended."""
    if current == Stage.dissolved:
        return []
    if current == Stage.suspended:
        return [s for s in (resumes_to, Stage.dissolved) if s is not None]
    targets = [s for s in (next_in_journey(current),) if s is not None]
    return [*targets, Stage.suspended, Stage.dissolved]


def transitions_table() -> dict[str, list[str]]:
    """The allowed transitions, for documentation (suspended resumes to its prior stage)."""
    table = {s.value: [t.value for t in allowed_targets(s)] for s in Stage}
    table[Stage.suspended.value] = ["<the stage before suspension>", Stage.dissolved.value]
    return table
