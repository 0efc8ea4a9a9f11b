"""Fan-out baseline: the least an aiohttp server can do to broadcast events to WebSockets.

``python -m bench.broadcast_server PORT`` serves, under uvloop like the real server:

- ``GET /ws/v1/funkos``: a WebSocket; first frame ``{"type":"CAUGHT_UP","position":P}``, then
  every broadcast frame;
- ``POST /api/v1/funkos``: the body becomes an envelope-shaped frame (position, the Funko as
  ``data`` and ``changes``, ``createdAt`` stamped now, as the real server stamps before its
  commit), put on an in-process asyncio queue; 201;
- ``GET /health``.

One task takes frames off the queue and sends each to every client in turn: no database, no
per-subscriber task, buffer or timeout. The same writer and subscriber process drive it.
"""

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import uvloop
from aiohttp import web

QUEUE = web.AppKey("queue", asyncio.Queue[str])
CLIENTS = web.AppKey("clients", set[web.WebSocketResponse])
HEAD = web.AppKey("head", list[int])  # [newest position]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def subscribe(request: web.Request) -> web.StreamResponse:
    socket = web.WebSocketResponse(compress=False)
    await socket.prepare(request)
    await socket.send_str(f'{{"type":"CAUGHT_UP","position":{request.app[HEAD][0]}}}')
    request.app[CLIENTS].add(socket)
    try:
        async for _ in socket:
            pass
    finally:
        request.app[CLIENTS].discard(socket)
    return socket


async def publish(request: web.Request) -> web.Response:
    fields = await request.json()
    head = request.app[HEAD]
    head[0] += 1
    now = _now()
    funko = {"id": str(uuid.uuid4()), **fields, "version": 1, "createdAt": now, "updatedAt": now}
    envelope = {
        "entity": "FUNKOS",
        "type": "CREATE",
        "position": head[0],
        "funkoId": funko["id"],
        "version": 1,
        "data": funko,
        "changes": fields,
        "createdAt": now,
    }
    request.app[QUEUE].put_nowait(orjson.dumps(envelope).decode())
    return web.json_response(funko, status=201)


async def health(_: web.Request) -> web.Response:
    return web.Response(text="ok")


async def broadcast(app: web.Application) -> None:
    queue, clients = app[QUEUE], app[CLIENTS]
    while True:
        frame = await queue.get()
        for socket in list(clients):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await socket.send_str(frame)


async def broadcaster(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(broadcast(app))
    yield
    task.cancel()
    clients = app[CLIENTS]
    for socket in list(clients):
        await socket.close()


def create_app() -> web.Application:
    app = web.Application()
    app[QUEUE], app[CLIENTS], app[HEAD] = asyncio.Queue(), set(), [0]
    app.router.add_get("/ws/v1/funkos", subscribe)
    app.router.add_post("/api/v1/funkos", publish)
    app.router.add_get("/health", health)
    app.cleanup_ctx.append(broadcaster)
    return app


def main() -> int:
    port = int(sys.argv[1])
    web.run_app(
        create_app(), host="127.0.0.1", port=port, loop=uvloop.new_event_loop(), access_log=None
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
