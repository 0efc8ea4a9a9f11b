"""Fan-out baseline: the least an aiohttp server can do to broadcast events to subscribers.

``python -m bench.broadcast_server PORT`` serves, under uvloop like the real server:

- ``GET /ws/v1/funkos``: a WebSocket; first frame ``{"type":"CAUGHT_UP","position":P}``, then
  every broadcast frame;
- ``GET /api/v1/stream``: the same as server-sent events in a chunked body, framed as the
  real server frames them: ``event: caught-up`` / ``id: P`` / ``data: {"type":"CAUGHT_UP",…}``
  first, then ``id: <position>`` / ``data: <envelope>`` for every broadcast frame;
- ``POST /api/v1/funkos``: the body becomes an envelope-shaped frame (position, the Funko as
  ``data`` and ``changes``, ``createdAt`` stamped now, as the real server stamps before its
  commit), put on an in-process asyncio queue; 201 with ``X-Log-Position``: the position it
  assigned;
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

QUEUE = web.AppKey("queue", asyncio.Queue[tuple[int, bytes]])  # (position, envelope JSON)
CLIENTS = web.AppKey("clients", set[web.WebSocketResponse])
# Each event stream, and what its handler waits on to end (set when a write to it fails).
STREAMS = web.AppKey("streams", dict[web.StreamResponse, asyncio.Event])
HEAD = web.AppKey("head", list[int])  # [newest position]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _caught_up(position: int) -> str:
    return f'{{"type":"CAUGHT_UP","position":{position}}}'


async def subscribe(request: web.Request) -> web.StreamResponse:
    socket = web.WebSocketResponse(compress=False)
    await socket.prepare(request)
    await socket.send_str(_caught_up(request.app[HEAD][0]))
    request.app[CLIENTS].add(socket)
    try:
        async for _ in socket:
            pass
    finally:
        request.app[CLIENTS].discard(socket)
    return socket


async def stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: aiohttp writes each ``write`` as one chunk."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    head = request.app[HEAD][0]
    await response.write(f"event: caught-up\nid: {head}\ndata: {_caught_up(head)}\n\n".encode())
    ended = request.app[STREAMS][response] = asyncio.Event()
    try:
        await ended.wait()
    finally:
        request.app[STREAMS].pop(response, None)
    return response


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
    request.app[QUEUE].put_nowait((head[0], orjson.dumps(envelope)))
    return web.json_response(funko, status=201, headers={"X-Log-Position": str(head[0])})


async def health(_: web.Request) -> web.Response:
    return web.Response(text="ok")


async def broadcast(app: web.Application) -> None:
    queue, clients, streams = app[QUEUE], app[CLIENTS], app[STREAMS]
    while True:
        position, envelope = await queue.get()
        if clients:
            frame = envelope.decode()
            for socket in list(clients):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await socket.send_str(frame)
        if streams:
            event = b"id: %d\ndata: %s\n\n" % (position, envelope)
            for response, ended in list(streams.items()):
                try:
                    await response.write(event)
                except (ConnectionError, RuntimeError):
                    streams.pop(response, None)
                    ended.set()


async def broadcaster(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(broadcast(app))
    yield
    task.cancel()
    clients = app[CLIENTS]
    for socket in list(clients):
        await socket.close()


async def end_streams(app: web.Application) -> None:
    """on_shutdown: let every event stream's handler return."""
    for ended in app[STREAMS].values():
        ended.set()


def create_app() -> web.Application:
    app = web.Application()
    app[QUEUE], app[CLIENTS], app[STREAMS], app[HEAD] = asyncio.Queue(), set(), {}, [0]
    app.router.add_get("/ws/v1/funkos", subscribe)
    app.router.add_get("/api/v1/stream", stream)
    app.router.add_post("/api/v1/funkos", publish)
    app.router.add_get("/health", health)
    app.cleanup_ctx.append(broadcaster)
    app.on_shutdown.append(end_streams)
    return app


def main() -> int:
    port = int(sys.argv[1])
    web.run_app(
        create_app(), host="127.0.0.1", port=port, loop=uvloop.new_event_loop(), access_log=None
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
