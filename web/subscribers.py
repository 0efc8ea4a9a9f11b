"""This process's WebSocket subscribers: stalled ones closed with 4008, all with 1001 at the end.

A peer that stopped reading cannot take a close frame either, and a graceful close would wait
forever to flush to it: after a short wait its connection is reset instead. That works on any
event loop the server runs on (uvloop's transports are not ``asyncio.Transport`` subclasses).
"""

import asyncio
from collections.abc import Callable

from aiohttp import WSCloseCode, web

from infrastructure.subscription import Subscription
from web.connections import reset

STALLED = 4008
CLOSE_TIMEOUT = 2.0
HIGH_WATER = 64 * 1024  # bytes a client's socket may hold before live frames wait in the buffer
Transport = asyncio.Transport | None  # what aiohttp names it; uvloop's has the same methods


def socket_writer(request: web.Request) -> Callable[[bytes], bool]:
    """Write a whole frame to the request's socket if it has room; never wait."""
    transport = request.transport

    def write(frame: bytes) -> bool:
        if transport is None or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > HIGH_WATER:
            return False
        transport.write(frame)
        return True

    return write


class Subscribers:
    """The open subscriptions, watched for clients that stopped reading; each one the server
    closes is remembered with the code it chose, for the metrics."""

    def __init__(self, send_timeout: float) -> None:
        self._open: dict[web.WebSocketResponse, tuple[Subscription, Transport]] = {}
        self._chosen: dict[web.WebSocketResponse, int] = {}
        self._send_timeout = send_timeout
        self._closing: set[asyncio.Task[None]] = set()
        self._ended_frames = self._ended_switches = 0  # counts of subscriptions gone

    def totals(self) -> tuple[int, int]:
        """Frames sent and slow-consumer switches to the log, by every subscription so far."""
        frames, switches = self._ended_frames, self._ended_switches
        for subscription, _ in self._open.values():
            frames += subscription.frames_sent
            switches += subscription.switches_to_log
        return frames, switches

    def __len__(self) -> int:
        return len(self._open)

    def add(
        self, socket: web.WebSocketResponse, subscription: Subscription, transport: Transport
    ) -> None:
        self._open[socket] = (subscription, transport)

    def discard(self, socket: web.WebSocketResponse) -> int | None:
        """Forget ``socket``; the close code the server chose for it, if it closed it."""
        subscription, _ = self._open.pop(socket, (None, None))
        if subscription is not None:
            self._ended_frames += subscription.frames_sent
            self._ended_switches += subscription.switches_to_log
        return self._chosen.pop(socket, None)

    async def close(
        self, socket: web.WebSocketResponse, code: int, reason: bytes, at_once: bool = False
    ) -> None:
        """Close ``socket`` with ``code``; a peer that does not take the close frame within
        CLOSE_TIMEOUT (or, ``at_once``, one whose socket is already full) is reset."""
        self._chosen.setdefault(socket, code)
        _, transport = self._open.get(socket, (None, None))
        if at_once and transport is not None and transport.get_write_buffer_size() > HIGH_WATER:
            reset(transport)
            return
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await socket.close(code=code, message=reason)
        except TimeoutError:
            if transport is not None:
                reset(transport)

    async def watch(self) -> None:
        """Close, with 4008, every subscriber whose frame has waited over the send timeout."""
        loop = asyncio.get_running_loop()
        reason = b"too slow: resume with after=<last position seen>"
        while True:
            await asyncio.sleep(min(1.0, self._send_timeout / 4))
            now = loop.time()
            for socket, (subscription, _) in list(self._open.items()):
                if socket in self._chosen:  # being closed already
                    continue
                if subscription.stalled_for(now) > self._send_timeout:
                    task = asyncio.create_task(self.close(socket, STALLED, reason))
                    self._closing.add(task)
                    task.add_done_callback(self._closing.discard)

    async def close_all(self) -> None:
        """Tell every subscriber 1001 (going away): it may resume on another server. Peers
        that stopped reading are reset at once, so they cannot hold the shutdown up."""
        message = b"server shutting down"
        await asyncio.gather(
            *(
                self.close(socket, WSCloseCode.GOING_AWAY, message, at_once=True)
                for socket in list(self._open)
            )
        )
