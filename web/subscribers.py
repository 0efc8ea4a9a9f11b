"""This process's WebSocket subscribers: stalled ones closed with 4008, all with 1001 at the end."""

import asyncio
import contextlib
from collections.abc import Callable

from aiohttp import WSCloseCode, web

from infrastructure.subscription import Subscription

STALLED = 4008
CLOSE_TIMEOUT = 2.0
HIGH_WATER = 64 * 1024  # bytes a client's socket may hold before live frames wait in the buffer


async def close(socket: web.WebSocketResponse, code: int, message: bytes) -> None:
    """Close ``socket``; a peer that stopped reading cannot take the close frame either, so on
    timeout aiohttp drops the connection."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(socket.close(code=code, message=message), CLOSE_TIMEOUT)


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
    """The open subscriptions, watched for clients that stopped reading."""

    def __init__(self, send_timeout: float) -> None:
        self._open: dict[web.WebSocketResponse, Subscription] = {}
        self._send_timeout = send_timeout
        self._closing: set[asyncio.Task[None]] = set()
        self.stalled = 0  # closed with 4008 so far

    def __len__(self) -> int:
        return len(self._open)

    def add(self, socket: web.WebSocketResponse, subscription: Subscription) -> None:
        self._open[socket] = subscription

    def discard(self, socket: web.WebSocketResponse) -> None:
        self._open.pop(socket, None)

    async def watch(self) -> None:
        """Close, with 4008, every subscriber whose frame has waited over the send timeout."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self._send_timeout / 4))
            now = loop.time()
            for socket, subscription in list(self._open.items()):
                if subscription.stalled_for(now) > self._send_timeout:
                    self.discard(socket)
                    self.stalled += 1
                    reason = b"too slow: resume with after=<last position seen>"
                    task = asyncio.create_task(close(socket, STALLED, reason))
                    self._closing.add(task)
                    task.add_done_callback(self._closing.discard)

    async def close_all(self) -> None:
        """Tell every subscriber 1001 (going away): it may resume on another server."""
        sockets = list(self._open)
        message = b"server shutting down"
        await asyncio.gather(*(close(s, WSCloseCode.GOING_AWAY, message) for s in sockets))
