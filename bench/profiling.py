"""Where a service's time goes during a step: ``py-spy record`` attached to one
worker process of the service under test for exactly the length of the step.

It writes a speedscope file (open it at speedscope.app or with ``speedscope``;
its "left heavy" view is the flame graph) and, from the same samples, the
functions with the most self time: the code that was on the CPU, not the code
that was waiting for it. py-spy runs with ``--nonblocking`` so the worker is
never paused to be sampled; the price is the odd torn stack, which does not
move the top of the list.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAMPLES_PER_SECOND = 100
TOP_FUNCTIONS = 15


@dataclass
class Recording:
    proc: subprocess.Popen[bytes]
    pid: int
    path: Path
    log: Path


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def start(pid: int, path: Path) -> Recording | None:
    """Begin sampling ``pid``; None (and the step runs unprofiled) when py-spy
    is missing."""
    exe = py_spy()
    if exe is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    log = path.with_suffix(".log")
    out = open(log, "wb")  # noqa: SIM115 — closed with the process, in stop()
    proc = subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(SAMPLES_PER_SECOND),
            "--nonblocking",
            "--format",
            "speedscope",
            "--output",
            str(path),
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    out.close()
    return Recording(proc, pid, path, log)


def stop(rec: Recording, timeout: float = 120.0) -> dict[str, Any]:
    """Stop sampling (py-spy writes its file on SIGINT) and summarise."""
    if rec.proc.poll() is None:
        rec.proc.send_signal(signal.SIGINT)
    try:
        rec.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        rec.proc.kill()
        rec.proc.wait()
    if not rec.path.exists():
        message = rec.log.read_text(errors="replace")[-500:] if rec.log.exists() else ""
        return {"pid": rec.pid, "error": f"py-spy wrote no profile: {message.strip()}"}
    with contextlib.suppress(OSError):
        rec.log.unlink()
    doc = json.loads(rec.path.read_text())
    # The profile is kept with the results: it names frames by package-relative
    # paths, never by where this checkout or its virtualenv happen to live.
    relative_paths(doc)
    rec.path.write_text(json.dumps(doc, separators=(",", ":")))
    top, samples = self_time(doc)
    top_path = rec.path.with_name(rec.path.name.removesuffix(".speedscope.json") + ".top.txt")
    top_path.write_text(
        f"py-spy, pid {rec.pid}, {samples} samples of running code at "
        f"{SAMPLES_PER_SECOND}/s (idle samples left out); self time:\n"
        + "".join(f"{t['percent']:5.1f}%  {t['function']}\n" for t in top)
    )
    return {
        "pid": rec.pid,
        "samples": samples,
        "speedscope": rec.path.name,
        "top_self": top,
    }


def relative_paths(doc: dict[str, Any]) -> None:
    """Each frame's file as :func:`_short` names it, in place."""
    for frame in doc.get("shared", {}).get("frames", []):
        if frame.get("file"):
            frame["file"] = _short(Path(str(frame["file"])))


def self_time(doc: dict[str, Any], n: int = TOP_FUNCTIONS) -> tuple[list[dict[str, Any]], int]:
    """Functions by self time (the innermost frame of each sample), summed over
    every thread's profile. Speedscope stacks run from the root to the leaf."""
    frames = doc["shared"]["frames"]
    counts: Counter[int] = Counter()
    total = 0.0
    samples = 0
    for profile in doc.get("profiles", []):
        weights = profile.get("weights") or [1] * len(profile.get("samples", []))
        for stack, weight in zip(profile.get("samples", []), weights, strict=False):
            if stack:
                counts[stack[-1]] += weight
                total += weight
                samples += 1
    names: Counter[str] = Counter()
    for index, weight in counts.items():
        frame = frames[index]
        where = Path(str(frame.get("file") or "?"))
        names[f"{frame.get('name', '?')} ({_short(where)})"] += weight
    top = [
        {"function": name, "percent": round(100 * weight / total, 1)}
        for name, weight in names.most_common(n)
    ]
    return top, samples


def _short(path: Path) -> str:
    """``sqlalchemy/orm/session.py`` rather than the whole site-packages path."""
    parts = path.parts
    for marker in ("site-packages", "lib"):
        if marker in parts:
            i = len(parts) - 1 - parts[::-1].index(marker)
            return "/".join(parts[i + 1 :])
    for i, part in enumerate(parts):
        if part.startswith("otog_"):
            return "/".join(parts[i:])
    return path.name
