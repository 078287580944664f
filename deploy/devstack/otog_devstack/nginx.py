"""The nginx gateway: find or install Debian's nginx, render the config, run it."""

from __future__ import annotations

import os
import pwd
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from otog_devstack.debian import ensure_program, find_program
from otog_devstack.processes import UVICORN_KEEPALIVE_SECONDS

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "deploy" / "nginx" / "nginx.conf.template"
WORKER_USER = "nobody"


class NginxMissing(RuntimeError):
    pass


NGINX_PLACES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")


def find_nginx() -> str | None:
    return find_program("nginx", NGINX_PLACES)


def ensure_nginx() -> str:
    return ensure_program("nginx", ["nginx-light"], places=NGINX_PLACES, error=NginxMissing)


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
    openapi_file: Path = ROOT / "deploy" / "openapi" / "openapi.json"
    docs_dir: Path = ROOT / "build" / "docs"
    console_dir: Path = ROOT / "build" / "console" / "app"
    rate_per_client: str = "50r/s"
    burst_per_client: int = 100
    rate_per_ip_public: str = "20r/s"
    burst_per_ip_public: int = 40
    rate_per_ip_token: str = "5r/s"  # noqa: S105 (a rate, not a secret)
    burst_per_ip_token: int = 10
    cors_origins: tuple[str, ...] = ()
    # Every replica's port by service name ("registry", "training", "loan-ledger");
    # a service not named here has the one port above.
    replica_ports: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # Passive health checks: after this many failed attempts (refused, reset, timed
    # out, 502) within fail_timeout, a replica gets no requests for fail_timeout.
    max_fails: int = 2
    fail_timeout: str = "5s"

    def ports(self, service: str) -> tuple[int, ...]:
        single = {
            "registry": self.registry_port,
            "training": self.training_port,
            "loan-ledger": self.loan_ledger_port,
        }[service]
        return self.replica_ports.get(service) or (single,)

    @classmethod
    def from_env(cls, **kwargs: object) -> GatewayConfig:
        """Limits and CORS origins can be tuned per deployment from the environment."""
        env = os.environ
        extra: dict[str, object] = {}
        for name in ("rate_per_client", "rate_per_ip_public", "rate_per_ip_token"):
            if env.get(f"GATEWAY_{name.upper()}"):
                extra[name] = env[f"GATEWAY_{name.upper()}"]
        for name in ("burst_per_client", "burst_per_ip_public", "burst_per_ip_token"):
            if env.get(f"GATEWAY_{name.upper()}"):
                extra[name] = int(env[f"GATEWAY_{name.upper()}"])
        if env.get("GATEWAY_CORS_ORIGINS"):
            extra["cors_origins"] = tuple(
                o.strip() for o in env["GATEWAY_CORS_ORIGINS"].split(",") if o.strip()
            )
        return cls(**{**extra, **kwargs})  # type: ignore[arg-type]


CORS_ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-Match, X-Request-ID"
CORS_EXPOSE_HEADERS = "X-Request-ID, ETag, Location, Retry-After"


def _common_headers(indent: str) -> str:
    headers = [
        ("X-Request-ID", "$otog_request_id"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Access-Control-Allow-Origin", "$otog_cors_origin"),
        ("Access-Control-Allow-Methods", '"GET, POST, PATCH, PUT, DELETE, OPTIONS"'),
        ("Access-Control-Allow-Headers", f'"{CORS_ALLOW_HEADERS}"'),
        ("Access-Control-Expose-Headers", f'"{CORS_EXPOSE_HEADERS}"'),
        ("Access-Control-Max-Age", "600"),
        ("Vary", "Origin"),
        # Set only on the gateway's own problem pages (see the template's maps).
        ("Content-Language", "$otog_problem_language"),
        ("Vary", "$otog_problem_vary"),
    ]
    return "\n".join(f"{indent}add_header {k} {v} always;" for k, v in headers)


def _cors_map(origins: tuple[str, ...]) -> str:
    lines = []
    for origin in origins:
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]+)?", origin):
            raise ValueError(f"not a CORS origin: {origin!r}")
        lines.append(f'        "{origin}" "{origin}";')
    return "\n".join(lines)


# Idle connections to a replica are dropped by nginx before uvicorn would drop them.
UPSTREAM_KEEPALIVE_SECONDS = UVICORN_KEEPALIVE_SECONDS - 5


def _servers(config: GatewayConfig, service: str) -> str:
    return "\n".join(
        f"        server 127.0.0.1:{port} max_fails={config.max_fails} "
        f"fail_timeout={config.fail_timeout};"
        for port in config.ports(service)
    )


# The console runs only its own bundle and talks only to this gateway: no inline script
# or style, nothing from elsewhere, no frames, no forms, no <base> rewriting.
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


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
        REGISTRY_SERVERS=_servers(config, "registry"),
        TRAINING_SERVERS=_servers(config, "training"),
        LOAN_LEDGER_SERVERS=_servers(config, "loan-ledger"),
        UPSTREAM_KEEPALIVE_TIMEOUT=f"{UPSTREAM_KEEPALIVE_SECONDS}s",
        PROXY_READ_TIMEOUT=config.proxy_read_timeout,
        OPENAPI_FILE=str(config.openapi_file),
        DOCS_DIR=str(config.docs_dir),
        CONSOLE_DIR=str(config.console_dir),
        RATE_PER_CLIENT=config.rate_per_client,
        BURST_PER_CLIENT=config.burst_per_client,
        RATE_PER_IP_PUBLIC=config.rate_per_ip_public,
        BURST_PER_IP_PUBLIC=config.burst_per_ip_public,
        RATE_PER_IP_TOKEN=config.rate_per_ip_token,
        BURST_PER_IP_TOKEN=config.burst_per_ip_token,
        CORS_ORIGIN_MAP=_cors_map(config.cors_origins),
        COMMON_HEADERS=_common_headers("        "),
        DOCS_HEADERS=_common_headers("            ")
        + "\n            add_header Content-Security-Policy "
        + "\"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        + "frame-ancestors 'none'\" always;",
        CONSOLE_HEADERS=_common_headers("            ")
        + "\n            add_header Content-Security-Policy "
        + f'"{CONSOLE_CSP}" always;',
    )


def _let_workers_traverse(path: Path) -> None:
    """Workers (an unprivileged user) buffer large bodies to files under the run
    dir; every directory above it must let them pass (execute bit only)."""
    for directory in (path.resolve(), *path.resolve().parents):
        mode = directory.stat().st_mode
        if not mode & 0o001:
            directory.chmod(mode | 0o001)


def write_config(config: GatewayConfig) -> Path:
    config.run_dir.mkdir(parents=True, exist_ok=True)
    config.log_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        _let_workers_traverse(config.run_dir)
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
