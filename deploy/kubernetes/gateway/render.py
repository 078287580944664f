"""Renders the gateway's nginx.conf for Kubernetes from deploy/nginx/nginx.conf.template.

The same template and the same rendering code as `make run` (otog_devstack.nginx),
then the few places that differ in a cluster: nginx listens on all addresses of
its pod, the upstreams are the services' ClusterIP Services, logs go to the
container's stdout/stderr, temporary files to /tmp (an emptyDir; the root file
system is read-only) and the process is already unprivileged (no `user`).

    uv run --frozen --all-packages python deploy/kubernetes/gateway/render.py [--check]

writes deploy/kubernetes/gateway/nginx.conf, which kustomize's configMapGenerator
turns into the gateway's ConfigMap; --check fails when that file is stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from otog_devstack import nginx

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "nginx.conf"
LISTEN_PORT = 8080
SERVICE_PORT = 8000
# Placeholder ports, replaced by Service names after rendering.
UPSTREAMS = {
    18001: "otog-registry",
    18002: "otog-training",
    18003: "otog-loan-ledger",
}
GATEWAY_PLACEHOLDER = 18080
LOG_PLACEHOLDER = Path("/otog-log-placeholder")


def render() -> str:
    config = nginx.GatewayConfig(
        gateway_port=GATEWAY_PLACEHOLDER,
        registry_port=18001,
        training_port=18002,
        loan_ledger_port=18003,
        run_dir=Path("/tmp"),  # noqa: S108 (the pod's own emptyDir)
        log_dir=LOG_PLACEHOLDER,
        # One worker per CPU of the container's limit (gateway.yaml), not of the node.
        worker_processes="2",
        openapi_file=Path("/usr/share/otog/openapi.json"),
        docs_dir=Path("/usr/share/otog/docs"),
        console_dir=Path("/usr/share/otog/console"),
    )
    text = nginx.render(config)
    text = re.sub(r"(?m)^user [^;]*;\n", "", text)
    listen = f"listen 127.0.0.1:{GATEWAY_PLACEHOLDER}"
    if listen not in text:
        raise RuntimeError("the template's gateway listen directive changed: update render.py")
    text = text.replace(listen, f"listen {LISTEN_PORT}")
    for port, service in UPSTREAMS.items():
        upstream = f"server 127.0.0.1:{port}"
        if upstream not in text:
            raise RuntimeError(f"no upstream on port {port} in the template: update render.py")
        # One server per upstream, the Service (kube-proxy spreads over its pods):
        # the passive health-check parameters of `make run`'s replicas would only
        # ever take that one address out, which nginx never does for a lone server.
        text = re.sub(rf"{re.escape(upstream)}\b[^;]*;", f"server {service}:{SERVICE_PORT};", text)
    text = text.replace(f"{LOG_PLACEHOLDER}/gateway-error.log", "stderr")
    text = text.replace(f"{LOG_PLACEHOLDER}/gateway-access.log", "/dev/stdout")
    if str(LOG_PLACEHOLDER) in text or "127.0.0.1:180" in text:
        raise RuntimeError("a placeholder is left in the rendered config: update render.py")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if nginx.conf is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is stale: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(OUTPUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
