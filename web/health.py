"""Liveness and readiness."""

from aiohttp import web

from web.keys import STATUS
from web.problems import Problem


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "UP"})


async def ready(request: web.Request) -> web.Response:
    if not await request.app[STATUS].answers():
        raise Problem(503, "Not ready", "The database is not answering.")
    return web.json_response({"status": "READY"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
