"""Routing that answers for a path as a whole, the same way in every service.

FastAPI makes one Starlette route per method, and Starlette lets the first route
whose path matches answer a method none of them has. Two things went wrong with
that. A path parameter captured its static neighbours: ``PATCH
/v1/groups/occupations`` reached ``PATCH /v1/groups/{group_id}`` and was refused
as "group_id is not a UUID" instead of 405. And the 405's ``Allow`` named the
methods of that one route, not of the path.

So: a path parameter that the endpoint reads as a UUID only matches a UUID
(``/v1/groups/occupations`` never reaches ``{group_id}``; an id that is not a UUID
is a 404, as for any path that names nothing), and a last route, :class:`PathMethods`,
answers every method a path lacks: ``OPTIONS`` with 204 and ``HEAD`` like ``GET``
without the body (FastAPI serves neither), anything else with a 405 problem. Its
``Allow`` is the union of the methods of every route matching the path.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from re import Pattern

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Router, compile_path
from starlette.types import Message, Receive, Scope, Send

_PLAIN_PARAMETER = re.compile(r"{(\w+)}")
_ALLOWED = "otog.allowed_methods"


def _api_routes(router: APIRouter) -> Iterator[APIRoute]:
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            yield from _api_routes(included)


def _path_annotations(dependant: Dependant, kinds: dict[str, set[object]]) -> None:
    for field in dependant.path_params:
        kinds.setdefault(field.name, set()).add(field.field_info.annotation)
    for sub in dependant.dependencies:
        _path_annotations(sub, kinds)


def _uuid_parameters(route: APIRoute) -> set[str]:
    """Path parameters every declaration of which (endpoint or dependency) is a UUID."""
    kinds: dict[str, set[object]] = {}
    _path_annotations(route.dependant, kinds)
    return {name for name, annotations in kinds.items() if annotations == {uuid.UUID}}


def _with_uuid_convertors(path: str, names: set[str]) -> str:
    return _PLAIN_PARAMETER.sub(lambda m: f"{{{m[1]}:uuid}}" if m[1] in names else m[0], path)


def constrain_uuid_parameters(router: APIRouter) -> None:
    """Give UUID path parameters Starlette's ``uuid`` convertor (before the router is
    included: FastAPI compiles an included route from its ``path``). The documented
    path (``path_format``) stays ``{group_id}``. Running it twice changes nothing."""
    for route in _api_routes(router):
        path = _with_uuid_convertors(route.path, _uuid_parameters(route))
        if path != route.path:
            route.path = path
            route.path_regex, route.path_format, route.param_convertors = compile_path(path)


class PathMethods(BaseRoute):
    """The app's last route: matches a request whose path some route has, for a method
    none of them serves."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self._table: list[tuple[Pattern[str], frozenset[str]]] | None = None

    def _routes(self) -> list[tuple[Pattern[str], frozenset[str]]]:
        # Built at the first request, when every route is in place.
        if self._table is None:
            table = []
            for context in iter_route_contexts(self.router.routes):
                if context.original_route is self:
                    continue
                regex = getattr(context, "path_regex", None)
                methods = context.methods
                if isinstance(regex, Pattern) and methods:
                    table.append((regex, frozenset(methods)))
            self._table = table
        return self._table

    def allowed_methods(self, path: str, method: str) -> frozenset[str] | None:
        """What ``Allow`` says for ``path``, or None when a route serves ``method``
        there (it answers) or no route has the path (404)."""
        allowed: set[str] = set()
        for regex, methods in self._routes():
            if regex.match(path):
                if method in methods:
                    return None
                allowed |= methods
        if not allowed:
            return None
        if "GET" in allowed:
            allowed.add("HEAD")
        allowed.add("OPTIONS")
        return frozenset(allowed)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        allowed = self.allowed_methods(get_route_path(scope), scope["method"])
        if allowed is None:
            return Match.NONE, {}
        return Match.FULL, {_ALLOWED: allowed}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed: frozenset[str] = scope[_ALLOWED]
        if scope["method"] == "HEAD" and "GET" in allowed:
            get = {key: value for key, value in scope.items() if key != _ALLOWED}
            get["method"] = "GET"

            async def headers_only(message: Message) -> None:
                if message["type"] == "http.response.body":
                    message = {**message, "body": b""}
                await send(message)

            await self.router(get, receive, headers_only)
            return
        header = {"Allow": ", ".join(sorted(allowed))}
        if scope["method"] == "OPTIONS":
            await Response(status_code=204, headers=header)(scope, receive, send)
            return
        raise HTTPException(
            405,
            detail=f"This path answers {header['Allow']}, not {scope['method']}.",
            headers=header,
        )


def install(app: FastAPI, routers: list[APIRouter]) -> None:
    """Include ``routers`` in ``app`` with UUID-only parameters, then the path fallback."""
    for router in routers:
        constrain_uuid_parameters(router)
        app.include_router(router)
    app.router.routes.append(PathMethods(app.router))
