"""This process's WebSocket subscribers: stalled ones closed with 4008, all with 1001 at the end."""

import asyncio
import socket as sockets
import struct
from collections.abc import Callable

from aiohttp import WSCloseCode, web

from infrastructure.subscription import Subscription

STALLED = 4008
CLOSE_TIMEOUT = 2.0
HIGH_WATER = 64 * 1024  # bytes a client's socket may hold before live frames wait in the buffer


async def close(
    socket: web.WebSocketResponse,
    code: int,
    message: bytes,
    transport: asyncio.BaseTransport | None = None,
) -> None:
    """Close ``socket``. A peer that stopped reading cannot take the close frame either: after
    a timeout its connection is aborted (a plain close would wait to flush to it forever)."""
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await socket.close(code=code, message=message)
    except TimeoutError:
        if isinstance(transport, asyncio.Transport):
            reset(transport)


def reset(transport: asyncio.Transport) -> None:
    """Drop the connection at once. The kernel would otherwise keep the unsent frames and go
    on offering them to a peer that reads nothing; linger 0 makes close() send a reset."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(sockets.SOL_SOCKET, sockets.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


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
        self._open: dict[
            web.WebSocketResponse, tuple[Subscription, asyncio.BaseTransport | None]
        ] = {}
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
        self,
        socket: web.WebSocketResponse,
        subscription: Subscription,
        transport: asyncio.BaseTransport | None,
    ) -> None:
        self._open[socket] = (subscription, transport)

    def discard(self, socket: web.WebSocketResponse) -> None:
        subscription, _ = self._open.pop(socket, (None, None))
        if subscription is not None:
            self._ended_frames += subscription.frames_sent
            self._ended_switches += subscription.switches_to_log

    async def watch(self) -> None:
        """Close, with 4008, every subscriber whose frame has waited over the send timeout."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self._send_timeout / 4))
            now = loop.time()
            for socket, (subscription, transport) in list(self._open.items()):
                if subscription.stalled_for(now) > self._send_timeout:
                    self.discard(socket)
                    reason = b"too slow: resume with after=<last position seen>"
                    task = asyncio.create_task(close(socket, STALLED, reason, transport))
                    self._closing.add(task)
                    task.add_done_callback(self._closing.discard)

    async def close_all(self) -> None:
        """Tell every subscriber 1001 (going away): it may resume on another server."""
        message = b"server shutting down"
        await asyncio.gather(
            *(
                close(socket, WSCloseCode.GOING_AWAY, message, transport)
                for socket, (_, transport) in list(self._open.items())
            )
        )
