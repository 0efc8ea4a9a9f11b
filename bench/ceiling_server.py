"""The HTTP ceiling: the same stack as the service (aiohttp under uvloop, orjson) answering a
create with no database at all, so no server on this stack can answer faster.

``python -m bench.ceiling_server PORT`` serves ``POST /api/v1/funkos`` (201, the parsed body
given an id) and ``GET /health``.
"""

import sys
import uuid

import orjson
import uvloop
from aiohttp import web


async def create(request: web.Request) -> web.Response:
    funko = orjson.loads(await request.read())
    funko["id"] = str(uuid.uuid4())
    return web.Response(status=201, body=orjson.dumps(funko), content_type="application/json")


async def health(request: web.Request) -> web.Response:
    return web.Response(text="UP")


if __name__ == "__main__":
    app = web.Application()
    app.router.add_post("/api/v1/funkos", create)
    app.router.add_get("/health", health)
    web.run_app(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop=uvloop.new_event_loop(),
        access_log=None,
        print=None,
    )
