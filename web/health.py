"""Liveness and readiness."""

import asyncio

import asyncpg
from aiohttp import web

from web.keys import POOL
from web.problems import Problem

READY_TIMEOUT = 2.0


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "UP"})


async def ready(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await request.app[POOL].fetchval("SELECT 1")
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        raise Problem(503, "Not ready", "The database is not answering.") from None
    return web.json_response({"status": "READY"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
