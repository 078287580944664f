"""Starting and stopping the service processes (uvicorn) and waiting for readiness."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# uvicorn keeps an idle keep-alive connection this long. The gateway must give up
# on its idle upstream connections first (nginx.upstream_keepalive_timeout): if
# uvicorn closed one just as nginx sent a request on it, that request would fail,
# and a POST cannot be resent.
UVICORN_KEEPALIVE_SECONDS = 20
# Requests in flight when a process is stopped get this long to finish.
GRACEFUL_SHUTDOWN_SECONDS = 10
# Where the workers of one process keep their metrics (prometheus-client's
# multiprocess mode): one directory per process, emptied before it starts.
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass
class ServiceProcess:
    name: str
    app_factory: str
    port: int
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    log_path: Path | None = None
    # None: a temporary directory, removed when the process is stopped.
    metrics_dir: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    _temporary_metrics_dir: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, **self.env, METRICS_DIR_ENV: str(self._fresh_metrics_dir())}
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app_factory,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--no-server-header",
            # Requests uvicorn's parser refuses are answered with problem+json too.
            "--http",
            "otog_shared.protocol:ProblemHttpToolsProtocol",
            "--timeout-keep-alive",
            str(UVICORN_KEEPALIVE_SECONDS),
            "--timeout-graceful-shutdown",
            str(GRACEFUL_SHUTDOWN_SECONDS),
        ]
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"{self.base_url}/v1/health/ready"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.proc.returncode}"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} was not ready within {timeout:.0f}s")

    @property
    def metrics_path(self) -> Path | None:
        """Where this process's workers write their metrics (once started)."""
        return self.metrics_dir or self._temporary_metrics_dir

    def _fresh_metrics_dir(self) -> Path:
        """Values of an earlier run would be added to this one's: start empty."""
        if self.metrics_dir is None:
            if self._temporary_metrics_dir is None:
                self._temporary_metrics_dir = Path(tempfile.mkdtemp(prefix="otog-metrics-"))
            directory = self._temporary_metrics_dir
        else:
            directory = self.metrics_dir
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        return directory

    def terminate(self) -> None:
        """SIGTERM the process group and return: it drains, then exits."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(os.getpgid(self.proc.pid), signal.SIGTERM)

    def stop(self, timeout: float = 15.0 + GRACEFUL_SHUTDOWN_SECONDS) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_group(self.proc.pid, timeout)
        if self._temporary_metrics_dir is not None:
            shutil.rmtree(self._temporary_metrics_dir, ignore_errors=True)
            self._temporary_metrics_dir = None


def stop_all(procs: Iterable[ServiceProcess]) -> None:
    """Stop processes side by side: each drains and finishes its requests at once,
    rather than one after another."""
    procs = list(procs)
    for p in procs:
        p.terminate()
    for p in procs:
        p.stop()


def stop_group(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM a process group, then SIGKILL what is left after ``timeout``."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
