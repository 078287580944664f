"""``python -m otog_devstack COMMAND``: run, stop, client, migrate, backup, restore, …"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from otog_devstack import nginx, stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="otog_devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start PostgreSQL, migrations, services and nginx")
    run.add_argument("--demo", action="store_true", help="load demo data")
    run.add_argument(
        "--replicas", type=int, default=1, help="processes of each service behind the gateway"
    )
    run.add_argument(
        "--ha", action="store_true", help="PostgreSQL as a Patroni cluster of three nodes"
    )
    sub.add_parser("stop", help="stop everything `run` started")
    client = sub.add_parser("client", help="create an API client and print its credentials")
    client.add_argument("--name", required=True)
    client.add_argument("--scopes", default="")
    client.add_argument("--province", default=None)
    user = sub.add_parser("user", help="create an officer's account (or reset its password)")
    user.add_argument("--username", required=True)
    user.add_argument("--password", required=True)
    user.add_argument("--scopes", default="")
    user.add_argument("--province", default=None)
    user.add_argument("--display-name", default=None)
    app_client = sub.add_parser("app-client", help="register an app (a public client)")
    app_client.add_argument("--name", required=True)
    app_client.add_argument("--redirect-uri", action="append", required=True)
    app_client.add_argument("--scopes", default="")
    sub.add_parser("migrate", help="create the databases and migrate them to head")
    sub.add_parser("ensure-nginx", help="install Debian's nginx if it is missing")
    sub.add_parser("ensure-etcd", help="install Debian's etcd if it is missing")
    sub.add_parser("ensure-chromium", help="install Debian's chromium if it is missing")
    openapi = sub.add_parser("openapi", help="write the merged OpenAPI document")
    openapi.add_argument("--check", action="store_true", help="fail if the file is not current")
    sub.add_parser("docs", help="fetch Swagger UI and build the offline docs")
    sub.add_parser("console", help="build the programme console (npm packages, esbuild)")
    gateway = sub.add_parser(
        "gateway-config", help="render the gateway's nginx.conf from the environment"
    )
    gateway.add_argument("--run-dir", required=True, help="nginx.conf, pid and temp files")
    gateway.add_argument("--log-dir", required=True)
    sub.add_parser("backup", help="dump every service database and copy the key files")
    restore = sub.add_parser("restore", help="restore a backup into an empty server")
    restore.add_argument("--from", dest="source", required=True, help="a backup directory")
    restore.add_argument("--force", action="store_true", help="replace existing data")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    if args.command == "run":
        if args.replicas < 1:
            parser.error("--replicas must be at least 1")
        return stack.run(demo=args.demo, replicas=args.replicas, ha_cluster=args.ha)
    if args.command == "stop":
        return stack.stop()
    if args.command == "client":
        return stack.create_client(args.name, args.scopes.split(), args.province or None)
    if args.command == "user":
        return stack.create_user(
            args.username,
            args.password,
            args.scopes.split(),
            args.province or None,
            args.display_name,
        )
    if args.command == "app-client":
        return stack.create_app_client(args.name, args.redirect_uri, args.scopes.split())
    if args.command == "migrate":
        urls, _ = stack.database_urls(stack.default_layout())
        stack.migrate_all(urls)
        return 0
    if args.command == "openapi":
        from otog_devstack import openapi as merged

        if args.check:
            if not merged.is_current():
                print(f"{merged.OUTPUT} is stale: run `make openapi`", file=sys.stderr)
                return 1
            return 0
        print(merged.write())
        return 0
    if args.command == "docs":
        from otog_devstack.docs import ensure_docs

        print(ensure_docs())
        return 0
    if args.command == "console":
        from otog_devstack.console import ensure_console

        print(ensure_console())
        return 0
    if args.command == "ensure-etcd":
        from otog_devstack import ha

        try:
            print(ha.ensure_etcd())
        except ha.EtcdMissing as exc:
            print(str(exc), file=sys.stderr)
            return 1
        return 0
    if args.command == "gateway-config":
        from pathlib import Path

        env = os.environ
        # The ports the service units listen on, as `make run` names them.
        conf = nginx.write_config(
            nginx.GatewayConfig.from_env(
                gateway_port=int(env.get("GATEWAY_PORT", "8080")),
                registry_port=int(env.get("REGISTRY_PORT", "8001")),
                training_port=int(env.get("TRAINING_PORT", "8002")),
                loan_ledger_port=int(env.get("LOANS_PORT", "8003")),
                run_dir=Path(args.run_dir),
                log_dir=Path(args.log_dir),
            )
        )
        print(conf)
        return 0
    if args.command in ("backup", "restore"):
        from pathlib import Path

        from otog_devstack import backup

        layout = stack.default_layout()
        if args.command == "backup":
            return backup.backup_command(layout)
        return backup.restore_command(layout, Path(args.source), force=args.force)
    if args.command == "ensure-chromium":
        from otog_devstack import browser

        try:
            print(browser.ensure_chromium())
        except browser.ChromiumMissing as exc:
            print(str(exc), file=sys.stderr)
            return 1
        return 0
    if args.command == "ensure-nginx":
        try:
            print(nginx.ensure_nginx())
        except nginx.NginxMissing as exc:
            print(str(exc), file=sys.stderr)
            return 1
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
