"""GET /ws/v1/funkos: every Funko event as it commits, resumable with ``after``."""

import asyncio
import contextlib
import logging
from functools import partial
from uuid import UUID

import asyncpg
from aiohttp import WSCloseCode, WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from infrastructure.envelopes import head
from infrastructure.subscription import Stalled, StreamFilter, Subscription
from web.keys import POOL, READER, SETTINGS, SOCKETS
from web.origins import check_origin
from web.problems import Problem, invalid
from web.schemas import field_errors

CLIENT_FRAME_LIMIT = 4 * 1024
STALLED = 4008
CLOSE_TIMEOUT = 2.0
TYPES = frozenset({"CREATE", "UPDATE", "DELETE"})
log = logging.getLogger(__name__)


class StreamParams(BaseModel):
    """The query string of the WebSocket route."""

    model_config = ConfigDict(extra="forbid")
    after: int | None = Field(None, ge=0, le=2**63 - 1)
    funko_id: UUID | None = Field(None, alias="funkoId")
    types: str | None = None

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: str | None) -> str | None:
        if value is not None:
            named = {t.strip() for t in value.split(",")}
            if not named or not named <= TYPES:
                raise ValueError("must be a comma-separated list of CREATE, UPDATE, DELETE")
        return value

    def wanted(self) -> StreamFilter:
        types = frozenset(t.strip() for t in self.types.split(",")) if self.types else None
        return StreamFilter(self.funko_id, types)


def _params(request: web.Request) -> StreamParams:
    if len(request.query) != len(request.query.keys()):
        raise invalid({"query": "names a parameter twice"}, "The query string is not valid.")
    try:
        return StreamParams.model_validate(dict(request.query))
    except ValidationError as error:
        raise invalid(field_errors(error), "The query string is not valid.") from None


async def stream_funkos(request: web.Request) -> web.StreamResponse:
    params = _params(request)
    settings = request.app[SETTINGS]
    socket = web.WebSocketResponse(
        heartbeat=settings.ws_heartbeat, max_msg_size=CLIENT_FRAME_LIMIT, compress=False
    )
    if not socket.can_prepare(request).ok:
        raise Problem(400, "WebSocket upgrade required", "Connect with a WebSocket client.")
    check_origin(request)
    if params.after is not None:
        newest = await head(request.app[POOL])
        if params.after > newest:
            raise invalid(
                {"after": f"is beyond the newest position, {newest}"},
                "The query string is not valid.",
            )
    await socket.prepare(request)
    subscription = Subscription(
        request.app[READER],
        request.app[POOL],
        partial(socket.send_frame, opcode=WSMsgType.TEXT),
        params.wanted(),
        params.after,
        buffer=settings.ws_buffer,
        send_timeout=settings.ws_send_timeout,
    )
    request.app[SOCKETS].add(socket)
    sender = asyncio.create_task(_send(socket, subscription))
    try:
        async for _ in socket:  # client frames are ignored; aiohttp closes >4 KiB with 1009
            pass
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        request.app[SOCKETS].discard(socket)
    return socket


async def _send(socket: web.WebSocketResponse, subscription: Subscription) -> None:
    try:
        await subscription.run()
    except Stalled:
        await _close(socket, STALLED, b"too slow: resume with after=<last position>")
    except (ConnectionError, RuntimeError):
        pass  # the client went away mid-frame
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        log.warning("a subscription stopped: %s", error)
        await _close(socket, WSCloseCode.INTERNAL_ERROR, b"database unavailable; resume later")


async def _close(socket: web.WebSocketResponse, code: int, message: bytes) -> None:
    # A peer that stopped reading cannot take the close frame either: on timeout aiohttp
    # drops the connection.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(socket.close(code=code, message=message), CLOSE_TIMEOUT)


async def close_all(app: web.Application) -> None:
    """On shutdown: every subscriber is told 1001 (going away) and may resume elsewhere."""
    registered = app[SOCKETS]
    sockets = list(registered)
    await asyncio.gather(
        *(_close(s, WSCloseCode.GOING_AWAY, b"server shutting down") for s in sockets)
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ws/v1/funkos", stream_funkos)
    app.on_shutdown.append(close_all)
