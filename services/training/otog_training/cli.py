"""Operator commands.

``python -m otog_training.cli cancel-below-minimum`` cancels every session whose
booking closed with fewer confirmed people than its minimum; the service runs the
same sweep every five minutes by itself (``otog_training.jobs``), so this is for an
operator who wants it now. The people enrolled get ``session.cancelled`` events.
``python -m otog_training.cli load-demo`` loads the demo data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from otog_shared.db import create_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine

from otog_training.courses.repository import CourseRepository
from otog_training.demo import load_demo
from otog_training.enrollments.repository import EnrollmentRepository
from otog_training.sessions.repository import SessionRepository
from otog_training.sessions.service import SessionService
from otog_training.settings import Settings


async def cancel_below_minimum(url: str) -> list[str]:
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with create_sessionmaker(engine)() as session:
            service = SessionService(
                SessionRepository(session), EnrollmentRepository(session), CourseRepository(session)
            )
            cancelled = await service.cancel_below_minimum()
            await session.commit()
    finally:
        await engine.dispose()
    return [str(i) for i in cancelled]


async def demo(url: str) -> None:
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with create_sessionmaker(engine)() as session:
            await load_demo(session)
            await session.commit()
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="otog_training.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("cancel-below-minimum", help="cancel sessions that closed below minimum")
    sub.add_parser("load-demo", help="load the demo courses and sessions")
    args = parser.parse_args(argv)
    url = Settings().database_url
    if args.command == "cancel-below-minimum":
        print(json.dumps({"cancelled": asyncio.run(cancel_below_minimum(url))}))
    else:
        asyncio.run(demo(url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
