"""The whole system on one machine: what `make run`, `make stop` and `make client` do."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from otog_devstack import ha, nginx
from otog_devstack.postgres import (
    EmbeddedPostgres,
    asyncpg_url,
    ensure_databases,
    free_port,
    port_is_free,
    with_database,
)
from otog_devstack.processes import METRICS_DIR_ENV, ServiceProcess, stop_all, stop_group
from otog_devstack.seaweedfs import STOP_SECONDS as SEAWEEDFS_STOP_SECONDS
from otog_devstack.seaweedfs import SeaweedFS

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    package: str
    env_prefix: str
    database: str
    default_port: int

    @property
    def factory(self) -> str:
        return f"{self.package}.main:create_app"


SERVICES = (
    ServiceSpec("registry", "otog_registry", "REGISTRY", "otog_registry", 8001),
    ServiceSpec("training", "otog_training", "TRAINING", "otog_training", 8002),
    ServiceSpec("loan-ledger", "otog_loan_ledger", "LOANS", "otog_loan_ledger", 8003),
)


@dataclass(frozen=True)
class RunOnceSpec:
    """A process that must run exactly once however many replicas serve requests
    (a delivery worker, a scheduler of its own): started once, with the
    environment of ``service``'s first replica. What it does must still be safe
    with two copies (its own database locks): this list only keeps `make run
    replicas=N` from starting N of them by accident."""

    name: str
    service: str
    argv: tuple[str, ...] = field(default_factory=tuple)


# Run-once processes, apart from the replicated SERVICES.
RUN_ONCE: tuple[RunOnceSpec, ...] = (
    # Webhook deliveries; safe with several copies (claims with SKIP LOCKED, leases).
    RunOnceSpec("webhooks", "registry", ("-m", "otog_registry.webhooks.worker")),
)


def replica_name(service: str, index: int) -> str:
    """``registry`` for the first replica, ``registry-2`` for the second…"""
    return service if index == 0 else f"{service}-{index + 1}"


def replica_ports(spec: ServiceSpec, first: int, replicas: int) -> list[int]:
    """The first replica on the configured port; the others 100 apart (8101, 8201…)
    when free, else anywhere free."""
    ports = [first if port_is_free(first) else free_port()]
    for i in range(1, replicas):
        wanted = spec.default_port + 100 * i
        ports.append(wanted if port_is_free(wanted) and wanted not in ports else free_port())
    return ports


@dataclass
class Layout:
    var: Path

    @property
    def pgdata(self) -> Path:
        return self.var / "pgdata"

    @property
    def run(self) -> Path:
        return self.var / "run"

    @property
    def logs(self) -> Path:
        return self.var / "logs"

    @property
    def data(self) -> Path:
        return self.var / "data"

    @property
    def state(self) -> Path:
        return self.run / "stack.json"


def default_layout() -> Layout:
    return Layout(Path(os.environ.get("OTOG_VAR_DIR", ROOT / "var")).resolve())


def say(message: str) -> None:
    print(message, flush=True)


def database_urls(
    layout: Layout, *, start: bool = True
) -> tuple[dict[str, str], EmbeddedPostgres | None]:
    """Per-service database URLs from the environment, or from the embedded server."""
    explicit = {s.name: os.environ.get(f"{s.env_prefix}_DATABASE_URL") for s in SERVICES}
    if ha.running(ha.stack_dir(layout.var)):  # `make run ha=1` is up: its cluster
        cluster = ha.HACluster(ha.stack_dir(layout.var))
        return ha.service_urls(cluster, {s.name: s.database for s in SERVICES}), None
    if all(explicit.values()):
        return {k: asyncpg_url(v) for k, v in explicit.items() if v}, None
    server_url = os.environ.get("DATABASE_URL")
    pg: EmbeddedPostgres | None = None
    if not server_url:
        port_file = layout.run / "postgres.port"
        port = int(port_file.read_text()) if port_file.exists() else None
        pg = EmbeddedPostgres(
            layout.pgdata, port or free_port(int(os.environ.get("OTOG_PG_PORT", "54329")))
        )
        if not pg.running():
            if not start:
                raise RuntimeError("PostgreSQL is not running")
            if port and not port_is_free(port):
                pg.port = free_port()
            layout.run.mkdir(parents=True, exist_ok=True)
            pg.start()
            port_file.write_text(str(pg.port))
        server_url = pg.url
    ensure_databases(server_url, [s.database for s in SERVICES if not explicit[s.name]])
    urls = {
        s.name: asyncpg_url(explicit[s.name] or with_database(server_url, s.database))
        for s in SERVICES
    }
    return urls, pg


def migrate_all(urls: dict[str, str]) -> None:
    from otog_shared.migrations import upgrade

    for spec in SERVICES:
        upgrade(spec.package, urls[spec.name])


SERVICE_CLIENTS = ("training", "loan-ledger")


def ensure_service_clients(layout: Layout, registry_url: str) -> dict[str, dict[str, str]]:
    """Client credentials the other services use to call the registry, kept in the data dir."""
    import asyncio

    import asyncpg
    from otog_registry.cli import create_client_in

    from otog_devstack.postgres import plain_url

    path = layout.data / "service-clients.json"
    saved: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}

    async def known(client_id: str) -> bool:
        conn = await asyncpg.connect(plain_url(registry_url))
        try:
            found = await conn.fetchval(
                "SELECT 1 FROM api_clients WHERE client_id = $1 AND disabled_at IS NULL", client_id
            )
        finally:
            await conn.close()
        return bool(found)

    for name in SERVICE_CLIENTS:
        current = saved.get(name)
        if current and asyncio.run(known(current["client_id"])):
            continue
        created = create_client_in(
            registry_url, name=f"{name} service", scopes=["registry:read"], province=None
        )
        saved[name] = {"client_id": created["client_id"], "client_secret": created["client_secret"]}
    layout.data.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved, indent=2))
    path.chmod(0o600)
    return saved


def service_env(
    spec: ServiceSpec,
    urls: dict[str, str],
    ports: dict[str, int],
    layout: Layout,
    clients: dict[str, dict[str, str]],
) -> dict[str, str]:
    registry = f"http://127.0.0.1:{ports['registry']}"
    env = {
        f"{spec.env_prefix}_DATABASE_URL": urls[spec.name],
        f"{spec.env_prefix}_JWKS_URL": f"{registry}/v1/.well-known/jwks.json",
        f"{spec.env_prefix}_REGISTRY_URL": registry,
        f"{spec.env_prefix}_DATA_DIR": str(layout.data),
    }
    if spec.name == "registry":
        # The registry collects the other services' outboxes into the partner feed.
        env["REGISTRY_TRAINING_URL"] = f"http://127.0.0.1:{ports['training']}"
        env["REGISTRY_LOANS_URL"] = f"http://127.0.0.1:{ports['loan-ledger']}"
        # Webhook receivers on this machine (http://127.0.0.1:…) are allowed here only.
        env["REGISTRY_WEBHOOK_ALLOW_LOOPBACK_HTTP"] = "true"
    if spec.name in clients:
        env[f"{spec.env_prefix}_REGISTRY_CLIENT_ID"] = clients[spec.name]["client_id"]
        env[f"{spec.env_prefix}_REGISTRY_CLIENT_SECRET"] = clients[spec.name]["client_secret"]
    return env


def start_run_once(
    layout: Layout, env_of: dict[str, dict[str, str]]
) -> list[subprocess.Popen[bytes]]:
    started = []
    for spec in RUN_ONCE:
        out = open(layout.logs / f"{spec.name}.log", "ab")  # noqa: SIM115
        # Its counters land beside its service's first replica's, which serves them
        # at that replica's /metrics (multiprocess files are per process id).
        metrics_dir = layout.run / "metrics" / replica_name(spec.service, 0)
        started.append(
            subprocess.Popen(
                [sys.executable, *spec.argv],
                env={**os.environ, **env_of[spec.service], METRICS_DIR_ENV: str(metrics_dir)},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return started


def run(demo: bool = False, replicas: int = 1, ha_cluster: bool = False) -> int:
    layout = default_layout()
    for d in (layout.run, layout.logs, layout.data):
        d.mkdir(parents=True, exist_ok=True)
    if layout.state.exists():
        state = json.loads(layout.state.read_text())
        if _alive(state.get("pid")):
            say(f"OTOG is already running (pid {state['pid']}); `make stop` first.")
            return 1

    nginx_bin = nginx.ensure_nginx()
    gateway_port = int(os.environ.get("GATEWAY_PORT", "8080"))
    if not port_is_free(gateway_port):
        say(f"Port {gateway_port} is taken; set GATEWAY_PORT to another port.")
        return 1

    cluster: ha.HACluster | None = None
    if ha_cluster:
        say("Starting etcd and three PostgreSQL nodes under Patroni, and migrating…")
        pg = None
        urls, cluster = ha.start_for_stack(
            ha.stack_dir(layout.var), {s.name: s.database for s in SERVICES}
        )
    else:
        say("Starting PostgreSQL and migrating…")
        urls, pg = database_urls(layout)
    migrate_all(urls)
    clients = ensure_service_clients(layout, urls["registry"])
    # Photos' object storage: an embedded SeaweedFS unless OBJECT_STORE_URL names one.
    object_store: SeaweedFS | None = None
    object_store_env: dict[str, str] = {}
    if not os.environ.get("OBJECT_STORE_URL"):
        say("Starting SeaweedFS (object storage)…")
        object_store = SeaweedFS(layout.var / "seaweedfs")
        object_store.start(layout.logs / "seaweedfs.log")
        object_store_env = object_store.env()

    all_ports = {
        s.name: replica_ports(
            s, int(os.environ.get(f"{s.env_prefix}_PORT", s.default_port)), replicas
        )
        for s in SERVICES
    }
    ports = {name: found[0] for name, found in all_ports.items()}
    workers = int(os.environ.get("OTOG_WORKERS", "2"))
    procs: list[ServiceProcess] = []
    first_env: dict[str, dict[str, str]] = {}
    for i in range(replicas):
        # Replica i of a service calls replica i of the registry (tokens' keys,
        # workers, groups): the calls spread as the requests do.
        mine = {name: found[i] for name, found in all_ports.items()}
        for spec in SERVICES:
            env = service_env(spec, urls, mine, layout, clients)
            if spec.name == "registry":
                env.update(object_store_env)
            first_env.setdefault(spec.name, env)
            name = replica_name(spec.name, i)
            procs.append(
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
    registries = [p for p in procs if p.name.startswith("registry")]
    others = [p for p in procs if p not in registries]
    gateway: subprocess.Popen[bytes] | None = None
    run_once: list[subprocess.Popen[bytes]] = []
    stopping = False

    def shutdown(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        say("\nStopping…")
        if gateway is not None:
            stop_group(gateway.pid)
        for once in run_once:
            stop_group(once.pid)
        stop_all(others)
        stop_all(registries)
        if object_store is not None:
            object_store.stop()
        if pg is not None:
            pg.stop()
        if cluster is not None:
            cluster.stop()
        layout.state.unlink(missing_ok=True)
        say("Stopped.")

    def on_sigterm(*_: object) -> None:
        shutdown()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        # The registry first: the others fetch its keys as they start.
        for p in registries:
            p.start()
        for p in registries:
            p.wait_ready()
        for p in others:
            p.start()
        for p in others:
            p.wait_ready()
        run_once = start_run_once(layout, first_env)
        from otog_devstack.demo import load_demo, register_console

        register_console(urls, gateway_port)
        if demo:
            load_demo(urls, layout)
        try:
            from otog_devstack.docs import ensure_docs

            ensure_docs()
        except RuntimeError as exc:
            say(f"warning: /docs will not be served: {exc}")
        try:
            from otog_devstack.console import ensure_console

            ensure_console()
        except RuntimeError as exc:
            say(f"warning: /console/ will not be served: {exc}")
        conf = nginx.write_config(
            nginx.GatewayConfig.from_env(
                gateway_port=gateway_port,
                registry_port=ports["registry"],
                training_port=ports["training"],
                loan_ledger_port=ports["loan-ledger"],
                run_dir=layout.run,
                log_dir=layout.logs,
                replica_ports={name: tuple(found) for name, found in all_ports.items()},
            )
        )
        gateway = nginx.start(nginx_bin, conf, layout.logs / "gateway.log")
        _write_state(
            layout,
            procs,
            gateway,
            pg,
            run_once,
            object_store.proc.pid if object_store and object_store.proc else None,
        )
        _wait_gateway(gateway_port)
        if cluster is not None:
            say(_summary(gateway_port, all_ports, layout, pg, "a Patroni cluster:"))
            say(ha.summary(cluster))
        else:
            say(_summary(gateway_port, all_ports, layout, pg))
        while True:
            for p in procs:
                if p.proc is not None and p.proc.poll() is not None:
                    say(f"{p.name} exited (code {p.proc.returncode}); see {p.log_path}")
                    return 1
            for once in run_once:
                if once.poll() is not None:
                    say(f"a run-once process exited (code {once.returncode}); see {layout.logs}")
                    return 1
            if gateway.poll() is not None:
                say(
                    f"nginx exited (code {gateway.returncode}); see {layout.logs}/gateway-error.log"
                )
                return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        shutdown()


def _wait_gateway(port: int) -> None:
    import httpx

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("the gateway did not answer /v1/health")


def _write_state(
    layout: Layout,
    procs: list[ServiceProcess],
    gateway: subprocess.Popen[bytes],
    pg: EmbeddedPostgres | None,
    run_once: list[subprocess.Popen[bytes]],
    object_store_pid: int | None = None,
) -> None:
    state = {
        "pid": os.getpid(),
        "services": {
            p.name: {"pid": p.proc.pid if p.proc else None, "port": p.port} for p in procs
        },
        "run_once": [{"pid": once.pid} for once in run_once],
        "gateway": {"pid": gateway.pid},
        "pgdata": str(pg.pgdata) if pg else None,
        "seaweedfs": {"pid": object_store_pid},
    }
    layout.state.write_text(json.dumps(state, indent=2))


def _summary(
    gateway_port: int,
    ports: dict[str, list[int]],
    layout: Layout,
    pg: EmbeddedPostgres | None,
    database: str = "from DATABASE_URL / *_DATABASE_URL",
) -> str:
    base = f"http://127.0.0.1:{gateway_port}"
    lines = [
        "",
        "OTOG is running. Ctrl-C (or `make stop` from another shell) stops everything.",
        f"  gateway      {base}/v1/health",
        f"  API docs     {base}/docs",
        f"  Console      {base}/console/",
        *(
            f"  {name:<12} "
            + ", ".join(f"http://127.0.0.1:{port}" for port in found)
            + "  (metrics: /metrics on each)"
            for name, found in ports.items()
        ),
        f"  PostgreSQL   {pg.url if pg else database}",
        f"  logs         {layout.logs}",
        '  a client     make client name=demo scopes="registry:read registry:write"',
        "",
    ]
    return "\n".join(lines)


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop() -> int:
    layout = default_layout()
    if layout.state.exists():
        state = json.loads(layout.state.read_text())
        runner = state.get("pid")
        if _alive(runner):
            os.kill(runner, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while _alive(runner) and time.monotonic() < deadline:
                time.sleep(0.2)
        # Whatever the runner did not get to.
        pids = [s.get("pid") for s in state.get("services", {}).values()]
        pids += [once.get("pid") for once in state.get("run_once", [])]
        pids.append(state.get("gateway", {}).get("pid"))
        for pid in pids:
            if _alive(pid):
                stop_group(pid)
        seaweedfs = state.get("seaweedfs", {}).get("pid")
        if _alive(seaweedfs):
            stop_group(seaweedfs, timeout=SEAWEEDFS_STOP_SECONDS)
        layout.state.unlink(missing_ok=True)
    pg = EmbeddedPostgres(layout.pgdata, 0)
    if pg.initialized() and pg.running():
        pg.stop()
    ha.stop_recorded(ha.stack_dir(layout.var))
    say("OTOG is stopped.")
    return 0


def create_client(name: str, scopes: list[str], province: str | None) -> int:
    from otog_registry.cli import create_client_in

    layout = default_layout()
    layout.run.mkdir(parents=True, exist_ok=True)
    started_here = False
    pg_probe = EmbeddedPostgres(layout.pgdata, 0)
    if not os.environ.get("DATABASE_URL") and not os.environ.get("REGISTRY_DATABASE_URL"):
        started_here = not (pg_probe.initialized() and pg_probe.running())
    urls, pg = database_urls(layout)
    try:
        from otog_shared.migrations import upgrade

        upgrade("otog_registry", urls["registry"])
        result = create_client_in(urls["registry"], name=name, scopes=scopes, province=province)
    finally:
        if started_here and pg is not None:
            pg.stop()
    print(json.dumps(result, ensure_ascii=False))
    return 0


# --- people's sign-in: `make user`, `make app-client` ------------------------


def create_user(
    username: str,
    password: str,
    scopes: list[str],
    province: str | None,
    display_name: str | None = None,
) -> int:
    from otog_registry.cli import create_user_in

    return _print_from_registry_database(
        lambda url: create_user_in(
            url,
            username=username,
            password=password,
            scopes=scopes,
            province=province,
            display_name=display_name,
        )
    )


def create_app_client(name: str, redirect_uris: list[str], scopes: list[str]) -> int:
    from otog_registry.cli import create_app_client_in

    return _print_from_registry_database(
        lambda url: create_app_client_in(url, name=name, redirect_uris=redirect_uris, scopes=scopes)
    )


def _print_from_registry_database(action: Callable[[str], dict[str, Any]]) -> int:
    """Runs ``action`` on the migrated registry database (starting the embedded
    server for the while when it is not running) and prints its JSON."""
    layout = default_layout()
    layout.run.mkdir(parents=True, exist_ok=True)
    started_here = False
    pg_probe = EmbeddedPostgres(layout.pgdata, 0)
    if not os.environ.get("DATABASE_URL") and not os.environ.get("REGISTRY_DATABASE_URL"):
        started_here = not (pg_probe.initialized() and pg_probe.running())
    urls, pg = database_urls(layout)
    try:
        from otog_shared.migrations import upgrade

        upgrade("otog_registry", urls["registry"])
        result = action(urls["registry"])
    finally:
        if started_here and pg is not None:
            pg.stop()
    print(json.dumps(result, ensure_ascii=False))
    return 0
