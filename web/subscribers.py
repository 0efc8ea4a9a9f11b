"""This process's subscribers, on either transport: stalled ones closed (4008 on a WebSocket),
all told goodbye at the end, and server-sent event streams kept alive with comments.

A peer that stopped reading cannot take a close frame either, and a graceful close would wait
forever to flush to it: after a short wait its connection is reset instead. That works on any
event loop the server runs on (uvloop's transports are not ``asyncio.Transport`` subclasses).

Each transport writes whole frames straight to the socket (``Outlet``): live frames only when
the socket has room, replayed pages waiting on the socket's drain. The frames are the same for
every subscriber, made once per event (``Entry``).
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import ClientConnectionResetError, WSCloseCode, web

from infrastructure.envelopes import Entry, chunk, sse_event, text_frame
from infrastructure.json_codec import dumpb
from infrastructure.subscription import Subscription
from web.connections import reset, within_or_reset

STALLED = 4008
CLOSE_TIMEOUT = 2.0
HIGH_WATER = 64 * 1024  # bytes a client's socket may hold before live frames wait in the buffer
Transport = asyncio.Transport | None  # what aiohttp names it; uvloop's has the same methods
SSE_COMMENT = chunk(b":\n\n")  # a comment line (and an empty event, which clients ignore)


def _caught_up(position: int) -> bytes:
    return dumpb({"type": "CAUGHT_UP", "position": position})


class Outlet:
    """Whole frames to a request's socket: the write side of a subscription."""

    __slots__ = ("_writer", "transport")

    def __init__(self, request: web.Request) -> None:
        self.transport: Transport = request.transport
        self._writer = request.writer

    def write(self, frames: bytes) -> bool:
        """Write if the socket has room; never wait."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > HIGH_WATER:
            return False
        transport.write(frames)
        return True

    async def send(self, frames: bytes) -> None:
        """Write, then wait until the socket has taken enough of it."""
        transport = self.transport
        if transport is None or transport.is_closing():
            raise ClientConnectionResetError("the client went away")
        transport.write(frames)
        await self._writer.drain()

    def gone(self) -> bool:
        return self.transport is None or self.transport.is_closing()


class WebSocketOutlet(Outlet):
    """Text frames: each envelope, then ``{"type": "CAUGHT_UP", "position": P}``."""

    __slots__ = ()

    def framed(self, entry: Entry) -> bytes:
        return entry.ws_frame

    def caught_up(self, position: int) -> bytes:
        return text_frame(_caught_up(position))


class EventStreamOutlet(Outlet):
    """Server-sent events in a chunked body: ``id:`` the position, ``data:`` the envelope;
    ``event: caught-up`` with the position as its id (a client resuming from it misses
    nothing)."""

    __slots__ = ()

    def framed(self, entry: Entry) -> bytes:
        return entry.sse_chunk

    def caught_up(self, position: int) -> bytes:
        return chunk(sse_event(_caught_up(position), position, "caught-up"))


@dataclass(eq=False, slots=True)
class Subscriber:
    """One open subscription: what it sends through, and how its transport says goodbye."""

    subscription: Subscription
    outlet: Outlet
    goodbye: Callable[[int, bytes], Awaitable[None]]
    kind: str  # "ws" or "sse"
    # SSE: written every heartbeat (the WebSocket's pings are aiohttp's); a stream whose client
    # has gone is told goodbye at the next look, even with nothing to send.
    heartbeat: bytes | None = None
    closing: bool = field(default=False, init=False)


class Subscribers:
    """The open subscriptions, watched for clients that stopped reading or left; each one the
    server closes is remembered with the code it chose, for the metrics."""

    def __init__(self, send_timeout: float, heartbeat: float) -> None:
        self._open: set[Subscriber] = set()
        self._chosen: dict[Subscriber, int] = {}
        self._send_timeout, self._heartbeat = send_timeout, heartbeat
        self._closing: set[asyncio.Task[None]] = set()
        self._ended_frames = self._ended_switches = 0  # counts of subscriptions gone

    def totals(self) -> tuple[int, int]:
        """Frames sent and slow-consumer switches to the log, by every subscription so far."""
        frames, switches = self._ended_frames, self._ended_switches
        for subscriber in self._open:
            frames += subscriber.subscription.frames_sent
            switches += subscriber.subscription.switches_to_log
        return frames, switches

    def count(self, kind: str) -> int:
        return sum(1 for subscriber in self._open if subscriber.kind == kind)

    def __len__(self) -> int:
        return len(self._open)

    def add(self, subscriber: Subscriber) -> None:
        self._open.add(subscriber)

    def discard(self, subscriber: Subscriber) -> int | None:
        """Forget ``subscriber``; the close code the server chose for it, if it closed it."""
        if subscriber in self._open:
            self._open.discard(subscriber)
            self._ended_frames += subscriber.subscription.frames_sent
            self._ended_switches += subscriber.subscription.switches_to_log
        return self._chosen.pop(subscriber, None)

    async def close(
        self, subscriber: Subscriber, code: int, reason: bytes, at_once: bool = False
    ) -> None:
        """Close ``subscriber`` with ``code``; a peer that does not take the goodbye within
        CLOSE_TIMEOUT (or, ``at_once``, one whose socket is already full) is reset."""
        self._chosen.setdefault(subscriber, code)
        subscriber.closing = True
        transport = subscriber.outlet.transport
        if at_once and transport is not None and transport.get_write_buffer_size() > HIGH_WATER:
            reset(transport)
            return
        await within_or_reset(subscriber.goodbye(code, reason), transport, CLOSE_TIMEOUT)

    def close_later(self, subscriber: Subscriber, code: int, reason: bytes) -> None:
        """``close``, in a task of its own."""
        task = asyncio.create_task(self.close(subscriber, code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def watch(self) -> None:
        """Close every subscriber whose frame has waited over the send timeout (4008), and
        every event stream whose client has gone; write event streams' heartbeats."""
        loop = asyncio.get_running_loop()
        reason = b"too slow: resume with after=<last position seen>"
        beat_at = loop.time() + self._heartbeat
        while True:
            await asyncio.sleep(min(1.0, self._send_timeout / 4, self._heartbeat))
            now = loop.time()
            beat = now >= beat_at
            if beat:
                beat_at = now + self._heartbeat
            for subscriber in list(self._open):
                if subscriber.closing:
                    continue
                if subscriber.subscription.stalled_for(now) > self._send_timeout:
                    self.close_later(subscriber, STALLED, reason)
                elif subscriber.heartbeat is not None:
                    if subscriber.outlet.gone():
                        self.close_later(subscriber, WSCloseCode.GOING_AWAY, b"client gone")
                    elif beat:
                        subscriber.outlet.write(subscriber.heartbeat)

    async def close_all(self) -> None:
        """Tell every subscriber goodbye (1001, going away): it may resume on another server.
        Peers that stopped reading are reset at once, so they cannot hold the shutdown up."""
        message = b"server shutting down"
        await asyncio.gather(
            *(
                self.close(subscriber, WSCloseCode.GOING_AWAY, message, at_once=True)
                for subscriber in list(self._open)
            )
        )
