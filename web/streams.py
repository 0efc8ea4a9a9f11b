"""GET /ws/v1/funkos (WebSocket) and GET /api/v1/stream (server-sent events): every Funko
event as it commits, from a position or a time, resumable. One subscription engine
(infrastructure/subscription.py) serves both; each transport is an Outlet (web/subscribers.py)
and a handler that opens and ends it."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
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
from web.connections import reset, within_or_reset
from web.deadline import own_deadline, within_deadline
from web.keys import METRICS, READER, SETTINGS, SUBSCRIBERS
from web.media_types import EVENT_STREAM
from web.origins import check_origin
from web.problems import Problem, add_get
from web.schemas import (
    OptionalQueryInt,
    QueryTime,
    parse_query,
    position_in_header,
    refuse_after_with_since,
    refuse_beyond_head,
)
from web.subscribers import (
    SSE_COMMENT,
    STALLED,
    EventStreamOutlet,
    Subscriber,
    WebSocketOutlet,
)

CLIENT_FRAME_LIMIT = 4 * 1024
LAST_EVENT_ID = "Last-Event-ID"
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
    """The query string of both stream routes."""

    model_config = ConfigDict(extra="forbid")
    after: OptionalQueryInt = Field(None, ge=0, le=2**63 - 1)
    since: QueryTime | None = None
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


async def _start(request: web.Request, params: StreamParams) -> int | None:
    """Where a subscription starts: after a position, before the first event created at or
    after a time, or (None) live from now."""
    refuse_after_with_since(params.after, params.since)
    reader = request.app[READER]
    if params.since is not None:
        return await reader.start_at(params.since)
    if params.after is not None:
        refuse_beyond_head(params.after, await reader.head())
    return params.after


@own_deadline
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
    after = await within_deadline(request, _start(request, params))
    await socket.prepare(request)
    subscribers = request.app[SUBSCRIBERS]

    def failed(error: BaseException) -> None:  # a sender task's failure: 1011, unless gone
        reason = _failure(error)
        if reason is not None:
            subscribers.close_later(subscriber, WSCloseCode.INTERNAL_ERROR, reason)

    async def goodbye(code: int, reason: bytes) -> None:
        await socket.close(code=code, message=reason)

    outlet = WebSocketOutlet(request)
    subscription = Subscription(
        request.app[READER], outlet, params.wanted(), after, settings.ws_buffer, failed
    )
    subscriber = Subscriber(subscription, outlet, goodbye, "ws")
    subscribers.add(subscriber)
    # The replay runs beside the receive loop (pings answered, a close heard); once live, an
    # idle subscriber has no task but this one.
    subscription.begin()
    ended = "1006"
    try:
        ended = await _until_closed(socket)
    finally:
        chosen = subscribers.discard(subscriber)
        request.app[METRICS].closes.labels(str(chosen) if chosen else ended).inc()
        await subscription.close()
    return socket


@own_deadline
async def stream_events(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/stream: the WebSocket's stream as server-sent events."""
    params = parse_query(request, StreamParams)
    resumed = position_in_header(request, LAST_EVENT_ID)  # a reconnecting EventSource's
    check_origin(request)
    if resumed is None:
        after = await within_deadline(request, _start(request, params))
    else:  # a reconnecting client: where it got to wins over where it first asked to start
        head = await within_deadline(request, request.app[READER].head())
        refuse_beyond_head(resumed, head, LAST_EVENT_ID)
        after = resumed
    response = web.StreamResponse(
        headers={
            "Content-Type": EVENT_STREAM,
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # proxies that buffer answers (nginx) pass each event on
        }
    )
    response.enable_chunked_encoding()  # the frames are written as chunks (envelopes.chunk)
    await response.prepare(request)
    if request.method == "HEAD":  # the head a GET gets, and no stream
        await response.write_eof()
        return response
    outlet = EventStreamOutlet(request)
    settings = request.app[SETTINGS]
    subscription = Subscription(
        request.app[READER], outlet, params.wanted(), after, settings.ws_buffer
    )
    gone = asyncio.Event()

    async def goodbye(code: int, reason: bytes) -> None:
        subscription.stop()  # the handler then ends the body
        if code == STALLED and outlet.transport is not None:
            reset(outlet.transport)  # it takes nothing: not the body's end either
        await gone.wait()

    subscribers = request.app[SUBSCRIBERS]
    subscriber = Subscriber(subscription, outlet, goodbye, "sse", heartbeat=SSE_COMMENT)
    subscribers.add(subscriber)
    subscription.begin()
    try:
        try:
            await subscription.ended  # stopped, or a sender task's failure
        except Exception as error:
            _failure(error)  # logged; the client reconnects with Last-Event-ID
        await subscription.close()
        if not outlet.gone():
            await _end_within(request, response, settings.send_timeout)
    finally:
        subscribers.discard(subscriber)
        await subscription.close()
        gone.set()
    return response


async def _end_within(request: web.Request, response: web.StreamResponse, seconds: float) -> None:
    """End a streamed body, or reset the connection of a client that does not take it."""
    with contextlib.suppress(ConnectionResetError):  # gone meanwhile
        await within_or_reset(response.write_eof(), request.transport, seconds)


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


def _failure(error: BaseException) -> bytes | None:
    """What a subscription failed on, logged: the reason to give the client, or None if the
    client went away (mid-frame, or closed as stalled)."""
    if isinstance(error, ClientConnectionResetError | ConnectionResetError):
        return None
    # Not any ConnectionError: the database refusing a connection is one too, and the client
    # must then hear it, not wait on an open stream that no longer sends.
    if isinstance(error, UNAVAILABLE):
        log.warning("a subscription stopped: %s", error)
        return b"database unavailable; resume later"
    log.error("a subscription failed", exc_info=error)  # a bug: the client told to come back
    return b"internal error; resume later"


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
    add_get(app, "/ws/v1/funkos", stream_funkos)
    add_get(app, "/api/v1/stream", stream_events)
