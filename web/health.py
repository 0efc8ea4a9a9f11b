"""Liveness and readiness."""

from aiohttp import web

from web.keys import STATUS
from web.problems import Problem, add_get


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "UP"})


async def ready(request: web.Request) -> web.Response:
    if not await request.app[STATUS].answers():
        raise Problem(503, "Not ready", "The database is not answering.")
    return web.json_response({"status": "READY"})


def add_routes(app: web.Application) -> None:
    add_get(app, "/health", health)
    add_get(app, "/ready", ready)
