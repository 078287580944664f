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
from dataclasses import dataclass
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
from otog_devstack.processes import ServiceProcess, stop_group

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


def run(demo: bool = False, ha_cluster: bool = False) -> int:
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

    ports = {s.name: int(os.environ.get(f"{s.env_prefix}_PORT", s.default_port)) for s in SERVICES}
    for name, port in ports.items():
        if not port_is_free(port):
            ports[name] = free_port()
    workers = int(os.environ.get("OTOG_WORKERS", "2"))
    procs = [
        ServiceProcess(
            spec.name,
            spec.factory,
            ports[spec.name],
            env=service_env(spec, urls, ports, layout, clients),
            workers=workers,
            log_path=layout.logs / f"{spec.name}.log",
        )
        for spec in SERVICES
    ]
    gateway: subprocess.Popen[bytes] | None = None
    webhooks: subprocess.Popen[bytes] | None = None
    stopping = False

    def shutdown(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        say("\nStopping…")
        if gateway is not None:
            stop_group(gateway.pid)
        if webhooks is not None:
            stop_group(webhooks.pid)
        for p in reversed(procs):
            p.stop()
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
        procs[0].start()
        procs[0].wait_ready()
        for p in procs[1:]:
            p.start()
        for p in procs[1:]:
            p.wait_ready()
        webhooks = start_webhook_worker(procs[0].env, layout.logs / "webhooks.log")
        if demo:
            from otog_devstack.demo import load_demo

            load_demo(urls, layout)
        try:
            from otog_devstack.docs import ensure_docs

            ensure_docs()
        except RuntimeError as exc:
            say(f"warning: /docs will not be served: {exc}")
        conf = nginx.write_config(
            nginx.GatewayConfig.from_env(
                gateway_port=gateway_port,
                registry_port=ports["registry"],
                training_port=ports["training"],
                loan_ledger_port=ports["loan-ledger"],
                run_dir=layout.run,
                log_dir=layout.logs,
            )
        )
        gateway = nginx.start(nginx_bin, conf, layout.logs / "gateway.log")
        _write_state(layout, procs, gateway, pg, webhooks)
        _wait_gateway(gateway_port)
        if cluster is not None:
            say(_summary(gateway_port, ports, layout, pg, "a Patroni cluster:"))
            say(ha.summary(cluster))
        else:
            say(_summary(gateway_port, ports, layout, pg))
        while True:
            for p in procs:
                if p.proc is not None and p.proc.poll() is not None:
                    say(f"{p.name} exited (code {p.proc.returncode}); see {p.log_path}")
                    return 1
            if webhooks.poll() is not None:
                say(f"the webhook worker exited (code {webhooks.returncode}); see {layout.logs}")
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


def start_webhook_worker(registry_env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """The webhook delivery worker, a process of its own on the registry's settings."""
    with open(log_path, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "otog_registry.webhooks.worker"],
            env={**os.environ, **registry_env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


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
    webhooks: subprocess.Popen[bytes] | None = None,
) -> None:
    state = {
        "pid": os.getpid(),
        "services": {
            p.name: {"pid": p.proc.pid if p.proc else None, "port": p.port} for p in procs
        },
        "gateway": {"pid": gateway.pid},
        "webhooks": {"pid": webhooks.pid if webhooks else None},
        "pgdata": str(pg.pgdata) if pg else None,
    }
    layout.state.write_text(json.dumps(state, indent=2))


def _summary(
    gateway_port: int,
    ports: dict[str, int],
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
        *(f"  {name:<12} http://127.0.0.1:{port}" for name, port in ports.items()),
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
        pids.append(state.get("gateway", {}).get("pid"))
        pids.append(state.get("webhooks", {}).get("pid"))
        for pid in pids:
            if _alive(pid):
                stop_group(pid)
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
