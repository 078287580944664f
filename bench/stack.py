"""The system as `make run` starts it, in its own data directory and on unusual
ports, driven from code: the benchmark's own starter, built from the same parts
(embedded PostgreSQL, migrations, service clients, uvicorn processes, nginx)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from otog_devstack import nginx
from otog_devstack.postgres import (
    EmbeddedPostgres,
    asyncpg_url,
    ensure_databases,
    free_port,
    plain_url,
    port_is_free,
    with_database,
)
from otog_devstack.processes import ServiceProcess, stop_all, stop_group
from otog_devstack.seaweedfs import SeaweedFS
from otog_devstack.stack import (
    ROOT,
    SERVICES,
    Layout,
    ensure_service_clients,
    migrate_all,
    replica_name,
    service_env,
)
from otog_shared.settings import ServiceSettings

# Far from `make run` (8080, 8001-8003, 54329) and from the test suite's random ports.
DEFAULT_PORTS = {"gateway": 18480, "postgres": 18432, "registry": 18401}
PORT_OFFSETS = {"registry": 0, "training": 1, "loan-ledger": 2}

# Rate limits are a production safeguard; a benchmark from one client must not hit them.
BENCH_GATEWAY_LIMITS = {
    "rate_per_client": "1000000r/s",
    "burst_per_client": 1000000,
    "rate_per_ip_public": "1000000r/s",
    "burst_per_ip_public": 1000000,
    "rate_per_ip_token": "1000000r/s",
    "burst_per_ip_token": 1000000,
}

# `make run`'s server settings, plus statement statistics so every scenario can
# say how many statements its endpoint ran per request.
# pgbench's clients (the scenarios' concurrency) and a margin for the harness.
PGBENCH_CONNECTIONS = 250

PG_EXTRA_OPTIONS = [
    "-c shared_preload_libraries=pg_stat_statements",
    "-c pg_stat_statements.track=all",
]


@dataclass
class BenchStack:
    layout: Layout
    pg: EmbeddedPostgres
    urls: dict[str, str]
    ports: dict[str, int]
    gateway_port: int
    workers: int
    replicas: int = 1
    procs: list[ServiceProcess] = field(default_factory=list)
    gateway: subprocess.Popen[bytes] | None = None
    object_store: SeaweedFS | None = None
    # Environment a step restarted a service with, on top of `make run`'s.
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def server_url(self) -> str:
        return self.pg.url

    def db_url(self, service: str) -> str:
        """Plain (libpq/asyncpg) URL of a service's database."""
        return plain_url(self.urls[service])

    def service_pids(self) -> dict[str, list[int]]:
        """Every process of each service: uvicorn's supervisor and its workers."""
        out: dict[str, list[int]] = {}
        for p in self.procs:
            if p.proc is None:
                continue
            root = p.proc.pid
            out[p.name] = [root, *_children(root)]
        if self.gateway is not None:
            out["nginx"] = [self.gateway.pid, *_children(self.gateway.pid)]
        postmaster = _postmaster_pid(self.pg.pgdata)
        if postmaster is not None:
            # The server and its backends (one per pooled connection).
            out["postgresql"] = [postmaster, *_children(postmaster)]
        return out

    def replicas_of(self, service: str) -> list[ServiceProcess]:
        # ``training``, ``training-2``…: see ``replica_name``.
        return [
            p
            for p in self.procs
            if p.name == service or p.name.removeprefix(service + "-").isdigit()
        ]

    def restart_service(self, service: str, env: dict[str, str]) -> None:
        """Stop every replica of ``service`` and start it again with ``env`` added
        to its environment (settings are read at start), then wait until each is
        ready. PostgreSQL and the gateway keep running: the replicas come back
        on the same ports, so nginx's upstreams are unchanged."""
        procs = self.replicas_of(service)
        if not procs:
            raise ValueError(f"no service named {service}")
        stop_all(procs)
        for p in procs:
            p.env = {**p.env, **env}
            p.start()
        for p in procs:
            p.wait_ready()
            _warm_up(p.base_url)
        self.overrides[service] = {**self.overrides.get(service, {}), **env}

    def worker_pid(self, service: str) -> int | None:
        """One process of ``service``'s first replica that serves requests: with
        several uvicorn workers a spawned child, with one the process itself."""
        procs = self.replicas_of(service)
        if not procs or procs[0].proc is None:
            return None
        root = procs[0].proc.pid
        for pid in _children(root):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                return pid
        return root

    def check_alive(self) -> None:
        for p in self.procs:
            if p.proc is not None and p.proc.poll() is not None:
                raise RuntimeError(f"{p.name} exited; see {p.log_path}")
        if self.gateway is not None and self.gateway.poll() is not None:
            raise RuntimeError("nginx exited; see gateway logs")

    def stop(self) -> None:
        if self.gateway is not None:
            stop_group(self.gateway.pid)
            self.gateway = None
        for p in reversed(self.procs):
            p.stop()
        self.procs = []
        if self.object_store is not None:
            self.object_store.stop()
        self.pg.stop()


# Requests that warm a restarted service's processes, each on a connection of its own
# so that every uvicorn worker gets some.
WARM_UP_REQUESTS = 32


def _warm_up(base_url: str) -> None:
    """FastAPI builds a process's routing tables (a field model per parameter of every
    route) on its first requests, and the database pool opens its connections on
    demand: a measured step right after a restart would pay for both. A path no
    route matches walks every router; the readiness check opens a connection."""
    for _ in range(WARM_UP_REQUESTS):
        with httpx.Client(base_url=base_url, timeout=10) as client:
            client.get("/v1/no-such-route-warm-up")
            client.get("/v1/health/ready")


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        kids = [int(x) for x in path.read_text().split()]
    except (OSError, ValueError):
        return []
    return kids + [g for k in kids for g in _children(k)]


def _port(preferred: int) -> int:
    return preferred if port_is_free(preferred) else free_port()


def start(
    var_dir: Path,
    *,
    workers: int,
    replicas: int = 1,
    fresh: bool = True,
    gateway_port: int | None = None,
    pg_port: int | None = None,
    say: object = print,
) -> BenchStack:
    """Start PostgreSQL, migrate, start the services and nginx; ``fresh`` empties
    the databases first so every run measures the same amounts of data."""
    layout = Layout(var_dir.resolve())
    for d in (layout.run, layout.logs, layout.data):
        d.mkdir(parents=True, exist_ok=True)
    log = say if callable(say) else print
    nginx_bin = nginx.ensure_nginx()
    # Every worker of every replica may hold a full pool while pgbench's clients
    # run beside them: PostgreSQL must take them all (400 is `make run`'s figure).
    pool = ServiceSettings().db_pool_size + ServiceSettings().db_max_overflow
    wanted = len(SERVICES) * replicas * workers * pool + PGBENCH_CONNECTIONS
    pg = EmbeddedPostgres(
        layout.pgdata,
        _port(pg_port or DEFAULT_PORTS["postgres"]),
        extra_options=[*PG_EXTRA_OPTIONS, f"-c max_connections={max(400, wanted)}"],
    )
    if pg.running():
        pg.stop()  # started by an earlier run that did not finish: settings may differ
    log(f"PostgreSQL on :{pg.port} ({layout.pgdata})")
    pg.start()
    stack: BenchStack | None = None
    try:
        names = [s.database for s in SERVICES]
        ensure_databases(pg.url, names, recreate=fresh)
        urls = {s.name: asyncpg_url(with_database(pg.url, s.database)) for s in SERVICES}
        migrate_all(urls)
        if fresh:
            (layout.data / "service-clients.json").unlink(missing_ok=True)
        clients = ensure_service_clients(layout, urls["registry"])
        base = DEFAULT_PORTS["registry"]
        # Replica i of a service on base + offset + 10 i (18401, 18411…).
        all_ports = {
            s.name: [_port(base + PORT_OFFSETS[s.name] + 10 * i) for i in range(replicas)]
            for s in SERVICES
        }
        ports = {name: found[0] for name, found in all_ports.items()}
        gw = _port(gateway_port or DEFAULT_PORTS["gateway"])
        stack = BenchStack(layout, pg, urls, ports, gw, workers, replicas)
        object_store_env: dict[str, str] = {}
        if not os.environ.get("OBJECT_STORE_URL"):
            stack.object_store = SeaweedFS(layout.var / "seaweedfs")
            stack.object_store.start(layout.logs / "seaweedfs.log")
            object_store_env = stack.object_store.env()
        for i in range(replicas):
            mine = {name: found[i] for name, found in all_ports.items()}
            for spec in SERVICES:
                env = service_env(spec, urls, mine, layout, clients)
                if spec.name == "registry":
                    env.update(object_store_env)
                name = replica_name(spec.name, i)
                stack.procs.append(
                    ServiceProcess(
                        name,
                        spec.factory,
                        mine[spec.name],
                        env=env,
                        workers=workers,
                        log_path=layout.logs / f"{name}.log",
                        metrics_dir=layout.run / "metrics" / name,
                    )
                )
        registries = [p for p in stack.procs if p.name.startswith("registry")]
        others = [p for p in stack.procs if p not in registries]
        for p in registries:
            p.start()
        for p in registries:
            p.wait_ready()
        for p in others:
            p.start()
        for p in others:
            p.wait_ready()
        config = nginx.GatewayConfig.from_env(
            gateway_port=gw,
            registry_port=ports["registry"],
            training_port=ports["training"],
            loan_ledger_port=ports["loan-ledger"],
            run_dir=layout.run,
            log_dir=layout.logs,
            replica_ports={name: tuple(found) for name, found in all_ports.items()},
            **BENCH_GATEWAY_LIMITS,
        )
        conf = nginx.write_config(config)
        stack.gateway = nginx.start(nginx_bin, conf, layout.logs / "gateway.log")
        _wait_http(f"{stack.gateway_url}/v1/health")
        log(
            f"gateway {stack.gateway_url}; services "
            + ", ".join(f"{k} :{v}" for k, v in ports.items())
            + f"; {replicas} replica(s) of each, {workers} uvicorn worker(s) each"
        )
        return stack
    except BaseException:
        if stack is not None:
            stack.stop()
        else:
            pg.stop()
        raise


def _wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def default_var_dir() -> Path:
    return Path(os.environ.get("OTOG_BENCH_VAR_DIR", ROOT / "var" / "bench"))
