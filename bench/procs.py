"""Peak memory and CPU time of the service processes, and of the machine.

Peak RSS comes from the kernel's own high-water mark (``VmHWM`` in
``/proc/PID/status``), reset before each scenario by writing 5 to
``/proc/PID/clear_refs``, so a short spike between two samples is not missed.
Where the reset is not allowed the figure is the peak since the process began,
and the results say so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _status(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                out[name] = int(value.split()[0])  # kB
    except OSError:
        pass
    return out


def reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb(pid: int) -> float:
    return round(_status(pid).get("VmHWM", 0) / 1024, 1)


def rss_mb(pid: int) -> float:
    return round(_status(pid).get("VmRSS", 0) / 1024, 1)


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of the whole line (11 and 12 after the name).
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine since boot."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    total = sum(parts[:8])
    return float(total - idle), float(total)


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


@dataclass
class Watch:
    """Peak RSS and CPU seconds per process over one measured step."""

    pids: dict[str, list[int]]
    cpu_before: dict[int, float]
    machine_before: tuple[float, float]
    peak_reset: bool

    # Lists the processes again at the end: a process that began during the step
    # (a database backend for a new pooled connection) counts from zero; one that
    # ended during it is missed.
    relist: Callable[[], dict[str, list[int]]] | None = None

    @classmethod
    def start(
        cls,
        pids: dict[str, list[int]],
        relist: Callable[[], dict[str, list[int]]] | None = None,
    ) -> Watch:
        reset = all([reset_peak(p) for ps in pids.values() for p in ps])
        return cls(
            pids,
            {p: cpu_seconds(p) for ps in pids.values() for p in ps},
            machine_cpu(),
            reset,
            relist,
        )

    def finish(self) -> dict[str, object]:
        busy0, total0 = self.machine_before
        busy1, total1 = machine_cpu()
        watched = {name: list(pids) for name, pids in self.pids.items()}
        if self.relist is not None:
            for name, pids in self.relist().items():
                watched[name] = sorted(set(watched.get(name, [])) | set(pids))
        per_service: dict[str, object] = {}
        for name, pids in watched.items():
            per_service[name] = {
                "processes": len(pids),
                "peak_rss_mb": [peak_rss_mb(p) for p in pids],
                "cpu_seconds": round(
                    sum(cpu_seconds(p) - self.cpu_before.get(p, 0.0) for p in pids), 2
                ),
            }
        return {
            "services": per_service,
            "peak_is_per_step": self.peak_reset,
            "machine_cpu_busy_percent": round(100 * (busy1 - busy0) / (total1 - total0), 1)
            if total1 > total0
            else None,
        }
