"""The nginx gateway: find or install Debian's nginx, render the config, run it."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from string import Template

TEMPLATE = Path(__file__).resolve().parents[2] / "nginx" / "nginx.conf.template"
WORKER_USER = "nobody"


class NginxMissing(RuntimeError):
    pass


def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def ensure_nginx() -> str:
    found = find_nginx()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise NginxMissing(
            "nginx is not installed. Install Debian's package as root: "
            "apt-get update && apt-get install -y nginx-light"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Keep the package's own nginx service from starting on port 80.
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "nginx-light"],
            check=True,
            env=env,
            capture_output=True,
        )
    finally:
        if made_policy:
            policy.unlink(missing_ok=True)
    found = find_nginx()
    if not found:
        raise NginxMissing("apt-get installed nginx-light but no nginx binary was found")
    return found


@dataclass
class GatewayConfig:
    gateway_port: int
    registry_port: int
    training_port: int
    loan_ledger_port: int
    run_dir: Path
    log_dir: Path
    worker_processes: str = "auto"
    proxy_read_timeout: str = "60s"


def render(config: GatewayConfig) -> str:
    user_directive = f"user {WORKER_USER} nogroup;" if os.geteuid() == 0 else ""
    return Template(TEMPLATE.read_text()).substitute(
        USER_DIRECTIVE=user_directive,
        WORKER_PROCESSES=config.worker_processes,
        RUN_DIR=str(config.run_dir),
        LOG_DIR=str(config.log_dir),
        GATEWAY_PORT=config.gateway_port,
        REGISTRY_PORT=config.registry_port,
        TRAINING_PORT=config.training_port,
        LOAN_LEDGER_PORT=config.loan_ledger_port,
        PROXY_READ_TIMEOUT=config.proxy_read_timeout,
    )


def write_config(config: GatewayConfig) -> Path:
    config.run_dir.mkdir(parents=True, exist_ok=True)
    config.log_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("nginx-body", "nginx-proxy", "nginx-fastcgi", "nginx-uwsgi", "nginx-scgi"):
        path = config.run_dir / sub
        path.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            os.chown(path, pwd.getpwnam(WORKER_USER).pw_uid, -1)
    conf = config.run_dir / "nginx.conf"
    conf.write_text(render(config))
    return conf


def start(binary: str, conf: Path, log_path: Path) -> subprocess.Popen[bytes]:
    test = subprocess.run(
        [binary, "-t", "-q", "-c", str(conf), "-p", str(conf.parent)],
        capture_output=True,
        text=True,
        check=False,
    )
    if test.returncode != 0:
        raise RuntimeError(f"nginx rejected its configuration:\n{test.stderr}")
    out = open(log_path, "ab")  # noqa: SIM115
    return subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(conf.parent), "-g", "daemon off;"],
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
