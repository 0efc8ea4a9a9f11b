"""Subscribers of GET /ws/v1/funkos for the stream tests: servers, listeners, writers, the log."""

import asyncio
import base64
import os
import socket
from collections.abc import Callable, Sequence
from decimal import Decimal
from itertools import pairwise
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import asyncpg
from aiohttp import ClientWebSocketResponse, WSMsgType
from pytest_aiohttp import AiohttpClient

from domain.services import FunkoService
from infrastructure.settings import Settings
from tests.e2e.shop import FUNKOS, SECRET, Client, body_of, create, decode, send, unique
from web.app import create_app

WS = "/ws/v1/funkos"
CAUGHT_UP = "CAUGHT_UP"
Frame = dict[str, Any]
LOG = """
SELECT position FROM events
WHERE position > $1 AND position <= $2
  AND ($3::uuid IS NULL OR funko_id = $3) AND ($4::text[] IS NULL OR type = ANY($4))
ORDER BY position
"""
# The reader's LISTEN connection: its query is the LISTEN until its first keepalive.
LISTENERS = """
SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND (query ILIKE 'LISTEN%funko_events%' OR query = 'SELECT 1')
"""


async def serve(aiohttp_client: AiohttpClient, database_url: str, **settings: Any) -> Client:
    """A server on the session's database, with stream settings (ws_buffer, …) overridden."""
    app = create_app(Settings(database_url=database_url, jwt_secret=SECRET, **settings))
    return await aiohttp_client(app)


def stream_path(**query: object) -> str:
    """The stream's path with ``query`` (``None`` values left out) as its query string."""
    given = {k: str(v) for k, v in query.items() if v is not None}
    return f"{WS}?{urlencode(given)}" if given else WS


async def log_positions(
    pool: asyncpg.Pool,
    after: int,
    upto: int,
    funko_id: str | None = None,
    types: Sequence[str] | None = None,
) -> list[int]:
    """The log's positions in (after, upto], narrowed as a subscriber's filters would."""
    uuid = UUID(funko_id) if funko_id else None
    rows = await pool.fetch(LOG, after, upto, uuid, list(types) if types else None)
    return [row[0] for row in rows]


async def listen_backends(pool: asyncpg.Pool) -> list[int]:
    """The pids of the LISTEN connections on this database (one per running server)."""
    return [row[0] for row in await pool.fetch(LISTENERS)]


class Listener:
    """One subscriber: its text frames, collected in the background as they arrive."""

    def __init__(self, ws: ClientWebSocketResponse, pace: float = 0.0) -> None:
        self.ws = ws
        self.frames: list[Frame] = []
        self.pings = 0
        self._pace = pace
        self._arrived = asyncio.Event()
        self._task = asyncio.create_task(self._collect())

    @classmethod
    async def connect(cls, client: Client, pace: float = 0.0, **query: object) -> "Listener":
        """Subscribe through ``client`` with ``query``; ``pace`` seconds between receives."""
        return cls(await client.ws_connect(stream_path(**query)), pace)

    async def _collect(self) -> None:
        async for message in self.ws:
            if message.type is WSMsgType.TEXT:
                self.frames.append(decode(message.data))
                self._arrived.set()
            elif message.type is WSMsgType.PING:
                self.pings += 1
            elif message.type is WSMsgType.ERROR:
                break
            if self._pace:
                await asyncio.sleep(self._pace)
        self._arrived.set()

    @property
    def events(self) -> list[Frame]:
        return [f for f in self.frames if f["type"] != CAUGHT_UP]

    @property
    def positions(self) -> list[int]:
        return [f["position"] for f in self.events]

    @property
    def caught_up(self) -> list[int]:
        return [f["position"] for f in self.frames if f["type"] == CAUGHT_UP]

    @property
    def open(self) -> bool:
        return not self._task.done()

    async def reach(self, position: int, within: float = 10.0) -> None:
        """Wait for CAUGHT_UP and a frame at ``position`` or later."""

        def reached() -> bool:
            return bool(self.caught_up) and max(f["position"] for f in self.frames) >= position

        await self._until(reached, within, f"position {position}")

    async def count(self, events: int, within: float = 10.0) -> None:
        """Wait for CAUGHT_UP and at least ``events`` events."""
        await self._until(
            lambda: bool(self.caught_up) and len(self.events) >= events, within, f"{events} events"
        )

    async def _until(self, done: Callable[[], bool], within: float, what: str) -> None:
        try:
            async with asyncio.timeout(within):
                while not done():
                    assert self.open, f"closed ({self.ws.close_code}) before {what}"
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            last = self.frames[-1] if self.frames else None
            raise AssertionError(f"{what} not reached in {within} s; last: {last}") from None

    async def ended(self, within: float) -> int | None:
        """Wait for the server to end the stream; its close code."""
        async with asyncio.timeout(within):
            await asyncio.shield(self._task)
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()
        await self._task


async def check_stream(
    listener: Listener,
    pool: asyncpg.Pool,
    after: int | None,
    upto: int,
    funko_id: str | None = None,
    types: Sequence[str] | None = None,
) -> int:
    """Assert one CAUGHT_UP in its place and exactly the log's positions; return CAUGHT_UP's."""
    kinds = [f["type"] for f in listener.frames]
    assert kinds.count(CAUGHT_UP) == 1, kinds
    at = kinds.index(CAUGHT_UP)
    caught_up: int = listener.frames[at]["position"]
    if after is None:
        assert at == 0, "without after, CAUGHT_UP is the first frame"
    else:
        assert caught_up >= after
    assert all(f["position"] <= caught_up for f in listener.frames[:at])
    assert all(f["position"] > caught_up for f in listener.frames[at + 1 :])
    positions = listener.positions
    assert all(a < b for a, b in pairwise(positions)), positions
    start = caught_up if after is None else after
    assert positions == await log_positions(pool, start, upto, funko_id, types)
    return caught_up


async def write_history(client: Client, changes: int, pace: float = 0.0) -> str:
    """Through REST: one new Funko, ``changes`` PATCHes, then its DELETE; returns its id."""
    funko_id: str = (await create(client, stock=0))["id"]
    for stock in range(1, changes + 1):
        await body_of(await send(client, "PATCH", f"{FUNKOS}/{funko_id}", {"stock": stock}), 200)
        await asyncio.sleep(pace)
    response = await send(client, "DELETE", f"{FUNKOS}/{funko_id}")
    assert response.status == 204, await response.text()
    return funko_id


async def create_bulky(service: FunkoService, count: int, burst: int = 50) -> None:
    """``count`` Funkos with the longest fields (≈1.3 KB envelopes), ``burst`` at a time."""
    for start in range(0, count, burst):
        await asyncio.gather(
            *(service.create(bulky_fields(), "e2e-bulk") for _ in range(min(burst, count - start)))
        )


def bulky_fields() -> dict[str, Any]:
    return {
        "name": unique("Bulky").ljust(100, "x"),
        "price": Decimal("999.99"),
        "stock": 7,
        "image": "https://img.example/" + "i" * 470,
        "category": unique("c").ljust(50, "y"),
    }


def tiny_socket(addr_info: Any) -> socket.socket:
    """A TCP socket with small buffers and segments, so a client that reads slowly pushes back."""
    family, kind, proto = addr_info[0], addr_info[1], addr_info[2]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    return sock


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
    async def connect(cls, host: str, port: int, path: str = WS) -> "StalledPeer":
        loop = asyncio.get_running_loop()
        sock = tiny_socket((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP))
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        handshake = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
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
