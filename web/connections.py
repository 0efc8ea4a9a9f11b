"""Dropping a client's connection at once, on any event loop the server runs on."""

import asyncio
import contextlib
import socket as sockets
import struct
from collections.abc import Awaitable


def reset(transport: asyncio.Transport) -> None:
    """Drop the connection at once. The kernel would otherwise keep the unsent bytes and go
    on offering them to a peer that reads nothing; linger 0 makes close() send a reset.
    (uvloop's transports are not ``asyncio.Transport`` subclasses, but have these methods.)"""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already gone
            sock.setsockopt(sockets.SOL_SOCKET, sockets.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def within_or_reset(
    work: Awaitable[object], transport: asyncio.Transport | None, seconds: float
) -> None:
    """``work`` (a goodbye, the end of a body), or the connection reset if the peer has not taken
    it within ``seconds``: a peer that stopped reading cannot hold us longer."""
    try:
        async with asyncio.timeout(seconds):
            await work
    except TimeoutError:
        if transport is not None:
            reset(transport)
