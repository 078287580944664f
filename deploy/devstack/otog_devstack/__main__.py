"""``python -m otog_devstack run|stop|client|migrate|ensure-nginx``."""

from __future__ import annotations

import argparse
import logging
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
    sub.add_parser("stop", help="stop everything `run` started")
    client = sub.add_parser("client", help="create an API client and print its credentials")
    client.add_argument("--name", required=True)
    client.add_argument("--scopes", default="")
    client.add_argument("--province", default=None)
    sub.add_parser("migrate", help="create the databases and migrate them to head")
    sub.add_parser("ensure-nginx", help="install Debian's nginx if it is missing")
    openapi = sub.add_parser("openapi", help="write the merged OpenAPI document")
    openapi.add_argument("--check", action="store_true", help="fail if the file is not current")
    sub.add_parser("docs", help="fetch Swagger UI and build the offline docs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    if args.command == "run":
        if args.replicas < 1:
            parser.error("--replicas must be at least 1")
        return stack.run(demo=args.demo, replicas=args.replicas)
    if args.command == "stop":
        return stack.stop()
    if args.command == "client":
        return stack.create_client(args.name, args.scopes.split(), args.province or None)
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
