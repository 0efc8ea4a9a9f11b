"""The plain CRUD server the service is measured against: what one would write instead, on
the same stack (aiohttp under uvloop, orjson, an asyncpg pool of 16).

``python -m bench.crud_server PORT DATABASE_URL`` serves ``POST /api/v1/funkos`` (the body as
a Funko, given an id; one transaction per request: INSERT the row as JSON, NOTIFY, in one
statement) and ``GET /health``.
"""

import sys
import uuid

import asyncpg
import orjson
import uvloop
from aiohttp import web

POOL = web.AppKey("pool", asyncpg.Pool)
INSERT = """
WITH inserted AS (INSERT INTO crud_funkos (id, doc) VALUES ($1, $2::jsonb))
SELECT pg_notify('crud_funkos', $1::text)
"""


async def create(request: web.Request) -> web.Response:
    funko = orjson.loads(await request.read())
    if not isinstance(funko, dict) or not {"name", "price", "stock", "category"} <= funko.keys():
        raise web.HTTPBadRequest(text="a Funko needs name, price, stock and category")
    funko["id"] = funko_id = str(uuid.uuid4())
    document = orjson.dumps(funko)
    await request.app[POOL].execute(INSERT, funko_id, document.decode())
    return web.Response(status=201, body=document, content_type="application/json")


async def health(request: web.Request) -> web.Response:
    return web.Response(text="UP")


def main(port: int, url: str) -> None:
    async def database(app: web.Application):  # type: ignore[no-untyped-def]
        app[POOL] = pool = await asyncpg.create_pool(url, min_size=16, max_size=16)
        await pool.execute(
            "CREATE TABLE IF NOT EXISTS crud_funkos (id uuid PRIMARY KEY, doc jsonb)"
        )
        yield
        await pool.close()

    app = web.Application()
    app.cleanup_ctx.append(database)
    app.router.add_post("/api/v1/funkos", create)
    app.router.add_get("/health", health)
    web.run_app(
        app, host="127.0.0.1", port=port, loop=uvloop.new_event_loop(), access_log=None, print=None
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
