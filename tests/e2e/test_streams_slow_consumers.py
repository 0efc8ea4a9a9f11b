"""Slow and stalled subscribers: served from the log at their own pace, or cut off with 4008."""

import asyncio
import base64
import os
import socket

import asyncpg
from aiohttp import ClientSession, TCPConnector
from pytest_aiohttp import AiohttpClient

from infrastructure.envelopes import head
from tests.e2e.shop import Client, decode
from tests.e2e.streams_kit import (
    CAUGHT_UP,
    Frame,
    Listener,
    check_stream,
    create_bulky,
    log_positions,
    serve,
    stream_path,
    tiny_socket,
)
from tests.waiting import eventually
from web.keys import READER, SERVICE

SEND_TIMEOUT = 1.0
STALLING = 600  # ≈780 KB of envelopes: more than a peer's socket buffers can hold
CLOSING = 4.0  # beyond the send timeout: to notice the stall, try a close, give up on it
ESTABLISHED = 1  # tcpi_state in Linux's struct tcp_info


def parse_frames(data: bytes) -> tuple[list[Frame], int | None]:
    """The server's (unmasked, unfragmented) text frames in ``data``, and its close code."""
    frames: list[Frame] = []
    code, at = None, 0
    while at + 2 <= len(data):
        opcode, length, at = data[at] & 0x0F, data[at + 1] & 0x7F, at + 2
        if length >= 126:
            size = 2 if length == 126 else 8
            length, at = int.from_bytes(data[at : at + size], "big"), at + size
        payload, at = data[at : at + length], at + length
        if len(payload) < length:
            break  # cut short by the server dropping the connection
        if opcode == 0x1:
            frames.append(decode(payload.decode()))
        elif opcode == 0x8:
            code = int.from_bytes(payload[:2], "big")
    return frames, code


class StalledPeer:
    """A WebSocket client that does the handshake by hand, then stops reading."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    async def connect(cls, client: Client, path: str) -> "StalledPeer":
        loop = asyncio.get_running_loop()
        sock = tiny_socket((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP))
        sock.setblocking(False)
        await loop.sock_connect(sock, (client.host, client.port))
        key = base64.b64encode(os.urandom(16)).decode()
        handshake = (
            f"GET {path} HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, handshake.encode())
        answer = b""
        while not answer.endswith(b"\r\n\r\n"):
            answer += await loop.sock_recv(sock, 1)
        assert answer.startswith(b"HTTP/1.1 101 "), answer
        return cls(sock)

    def dropped(self) -> bool:
        """Whether the server has closed or reset the connection, seen without reading."""
        return self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0] != ESTABLISHED

    async def read_to_end(self, within: float) -> tuple[list[Frame], int | None]:
        """Read again, to the end: what the server had sent, and the close code it gave."""
        loop = asyncio.get_running_loop()
        data = b""
        try:
            async with asyncio.timeout(within):
                while chunk := await loop.sock_recv(self.sock, 65536):
                    data += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:
            raise AssertionError(f"the server kept the connection open {within} s") from None
        finally:
            self.sock.close()
        return parse_frames(data)


async def test_a_slow_reader_with_a_small_buffer_still_gets_every_event_once_in_order(
    aiohttp_client: AiohttpClient, database_url: str, pool: asyncpg.Pool
) -> None:
    client = await serve(aiohttp_client, database_url, ws_buffer=8)
    start = await head(pool)
    async with ClientSession(connector=TCPConnector(socket_factory=tiny_socket)) as session:
        slow = [
            Listener(await session.ws_connect(client.make_url(stream_path(**q))), pace=0.002)
            for q in ({}, {"after": start})
        ]
        fast = await Listener.connect(client)
        await asyncio.gather(*(listener.reach(start) for listener in [*slow, fast]))
        # Big bursts: one read of the log offers more than the socket and buffer can take.
        await create_bulky(client.app[SERVICE], STALLING, burst=200)
        end = await head(pool)
        await fast.reach(end, within=5)
        for listener, after in zip(slow, (None, start), strict=True):
            await listener.reach(end, within=30)
            await check_stream(listener, pool, after, end)
            assert listener.positions == await log_positions(pool, start, end)
            await listener.close()
    await check_stream(fast, pool, None, end)


async def stall(client: Client, pool: asyncpg.Pool) -> tuple[StalledPeer, Listener, int]:
    """A peer that stops reading and a normal subscriber, both live from the returned position;
    then more events than the peer can take."""
    reader = client.app[READER]
    peer = await StalledPeer.connect(client, stream_path())
    try:
        normal = await Listener.connect(client)
        await normal.reach(0)
        await eventually(lambda: reader.subscribers == 2, 2, "both subscribed")
        await create_bulky(client.app[SERVICE], STALLING)
        await normal.reach(await head(pool), within=SEND_TIMEOUT * 0.75)  # not held up
    except BaseException:
        peer.sock.close()  # or the server's shutdown waits for it
        raise
    return peer, normal, normal.caught_up[0]


async def test_a_stalled_subscriber_is_cut_off_and_can_resume_where_it_was(
    aiohttp_client: AiohttpClient, database_url: str, pool: asyncpg.Pool
) -> None:
    client = await serve(aiohttp_client, database_url, ws_send_timeout=SEND_TIMEOUT)
    peer, normal, start = await stall(client, pool)
    reader = client.app[READER]
    try:
        await eventually(lambda: reader.subscribers == 1, SEND_TIMEOUT + CLOSING, "peer let go")
    finally:
        frames, code = await peer.read_to_end(within=5)
    await create_bulky(client.app[SERVICE], 5)
    newest = await head(pool)
    await normal.reach(newest)
    await check_stream(normal, pool, None, newest)

    assert frames[:1] in ([], [{"type": CAUGHT_UP, "position": start}]), frames[:1]
    positions = [f["position"] for f in frames[1:]]
    everything = await log_positions(pool, start, newest)
    assert positions == everything[: len(positions)], "what it got, it got in order"
    assert len(positions) < len(everything), "it was cut off before the end"
    assert code in (None, 4008), code  # the close frame, if the peer could still take it
    resumed = await Listener.connect(client, after=positions[-1] if positions else start)
    await resumed.reach(newest)
    assert resumed.positions == everything[len(positions) :]


async def test_a_stalled_subscriber_is_dropped_even_if_it_never_reads_again(
    aiohttp_client: AiohttpClient, database_url: str, pool: asyncpg.Pool
) -> None:
    client = await serve(aiohttp_client, database_url, ws_send_timeout=SEND_TIMEOUT)
    peer, normal, _ = await stall(client, pool)
    try:
        limit = SEND_TIMEOUT + CLOSING
        await eventually(peer.dropped, limit, "the server drops the stalled connection")
        assert normal.open
    finally:
        await peer.read_to_end(within=5)
