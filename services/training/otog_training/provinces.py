"""The 77 DOPA province codes: training areas are named by these, never by names.

The registry owns geography; the codes are fixed by the Department of
Provincial Administration and are checked here without a network call so a
session cannot be filed under a province that does not exist.
"""

from __future__ import annotations

PROVINCE_CODES: frozenset[str] = frozenset(
    [str(c) for c in range(10, 28)]  # Bangkok and the Central and Eastern region
    + [str(c) for c in range(30, 50)]  # the Northeast
    + [str(c) for c in range(50, 59)]  # the North
    + [str(c) for c in range(60, 68)]  # the lower North
    + [str(c) for c in range(70, 78)]  # the West
    + [str(c) for c in range(80, 87)]  # the upper South
    + [str(c) for c in range(90, 97)]  # the lower South
)

assert len(PROVINCE_CODES) == 77
