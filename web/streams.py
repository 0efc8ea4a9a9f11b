"""GET /ws/v1/funkos: every Funko event as it commits, resumable with ``after``."""

import asyncio
import logging
from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated
from uuid import UUID

from aiohttp import ClientConnectionResetError, WSCloseCode, WSMsgType, web
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)

from domain.funko import EventType
from infrastructure.database import UNAVAILABLE
from infrastructure.subscription import StreamFilter, Subscription
from web.keys import METRICS, READER, SETTINGS, SUBSCRIBERS
from web.origins import check_origin
from web.problems import Problem
from web.schemas import OptionalQueryInt, parse_query, refuse_beyond_head
from web.subscribers import Subscribers, socket_writer

CLIENT_FRAME_LIMIT = 4 * 1024
TYPES = frozenset(t.value for t in EventType)
# What _known_types accepts, for the OpenAPI document only.
_ONE_TYPE = "(" + "|".join(t.value for t in EventType) + ")"
TYPES_LIST = rf"^\s*{_ONE_TYPE}\s*(,\s*{_ONE_TYPE}\s*)*$"
# Close codes aiohttp picks when a client breaks the protocol; any other is a client's own.
ABNORMAL = frozenset(
    {WSCloseCode.PROTOCOL_ERROR, WSCloseCode.INVALID_TEXT, WSCloseCode.MESSAGE_TOO_BIG}
)
log = logging.getLogger(__name__)


class StreamParams(BaseModel):
    """The query string of the WebSocket route."""

    model_config = ConfigDict(extra="forbid")
    after: OptionalQueryInt = Field(None, ge=0, le=2**63 - 1)
    funko_id: UUID | None = Field(None, alias="funkoId")
    types: Annotated[str, WithJsonSchema({"type": "string", "pattern": TYPES_LIST})] | None = None

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: str | None) -> str | None:
        if value is not None:
            named = {t.strip() for t in value.split(",")}
            if not named or not named <= TYPES:
                raise ValueError(f"must be a comma-separated list of {', '.join(EventType)}")
        return value

    def wanted(self) -> StreamFilter:
        types = frozenset(t.strip() for t in self.types.split(",")) if self.types else None
        return StreamFilter(self.funko_id, types)


async def stream_funkos(request: web.Request) -> web.StreamResponse:
    params = parse_query(request, StreamParams)
    settings = request.app[SETTINGS]
    socket = web.WebSocketResponse(
        # aiohttp refuses a message of exactly max_msg_size: 4 KiB itself is allowed.
        heartbeat=settings.ws_heartbeat,
        max_msg_size=CLIENT_FRAME_LIMIT + 1,
        compress=False,
    )
    if not socket.can_prepare(request).ok:
        raise Problem(400, "WebSocket upgrade required", "Connect with a WebSocket client.")
    check_origin(request)
    if params.after is not None:
        refuse_beyond_head(params.after, await request.app[READER].head())
    await socket.prepare(request)
    subscription = Subscription(
        request.app[READER],
        partial(socket.send_frame, opcode=WSMsgType.TEXT),
        socket_writer(request),
        params.wanted(),
        params.after,
        buffer=settings.ws_buffer,
    )
    subscribers = request.app[SUBSCRIBERS]
    subscribers.add(socket, subscription, request.transport)
    sender = asyncio.create_task(_send(socket, subscription, subscribers))
    ended = "1006"
    try:
        ended = await _until_closed(socket)
    finally:
        chosen = subscribers.discard(socket)
        request.app[METRICS].closes.labels(str(chosen) if chosen else ended).inc()
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
    return socket


async def _until_closed(socket: web.WebSocketResponse) -> str:
    """Read until the connection ends, ignoring client frames; how it ended, for the metrics:
    "client" when the client closed it (its code is its own: never a label), else the code
    aiohttp chose (1009 for a frame over 4 KiB, 1002 for a broken one; 1006: no close frame)."""
    while True:
        message = await socket.receive()
        if message.type is WSMsgType.CLOSE:
            return "client"
        if message.type in (WSMsgType.ERROR, WSMsgType.CLOSING, WSMsgType.CLOSED):
            code = socket.close_code
            return str(code) if code in ABNORMAL else "1006"


async def _send(
    socket: web.WebSocketResponse, subscription: Subscription, subscribers: Subscribers
) -> None:
    try:
        await subscription.run()
    except ClientConnectionResetError:
        pass  # the client went away mid-frame (or was closed as stalled)
    # Not any ConnectionError: the database refusing a connection is one too, and the client
    # must then hear 1011, not wait on an open stream that no longer sends.
    except UNAVAILABLE as error:
        log.warning("a subscription stopped: %s", error)
        reason = b"database unavailable; resume later"
        await subscribers.close(socket, WSCloseCode.INTERNAL_ERROR, reason)
    except Exception:  # a bug: logged, and the client told to come back
        log.exception("a subscription failed")
        await subscribers.close(socket, WSCloseCode.INTERNAL_ERROR, b"internal error; resume later")


async def watch_subscribers(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: close stalled subscribers (4008) while serving."""
    watcher = asyncio.create_task(app[SUBSCRIBERS].watch(), name="stalled-subscribers")
    yield
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)


async def say_goodbye(app: web.Application) -> None:
    """on_shutdown: every subscriber hears 1001 (going away)."""
    await app[SUBSCRIBERS].close_all()


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ws/v1/funkos", stream_funkos)
