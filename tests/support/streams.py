"""Subscribers of the change stream, on either transport (GET /ws/v1/funkos, a WebSocket; GET
/api/v1/stream, server-sent events): listeners that collect frames, and the log they must match.

A listener collects in the background, so a test can write meanwhile and then wait for what
it expects; ``check_stream`` holds a listener's frames against the log's own positions. An
event stream's listener keeps what the WebSocket's does (CAUGHT_UP as the same object), plus
each event's ``id:`` and the comments it got.
"""

import asyncio
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import asyncpg
from aiohttp import ClientError, ClientResponse, ClientSession, ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient

from tests.support.shop import decode

WS = "/ws/v1/funkos"
SSE = "/api/v1/stream"
TRANSPORTS = ("ws", "sse")
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


def stream_path(**query: object) -> str:
    """The WebSocket's path with ``query`` (``None`` values left out) as its query string."""
    return with_query(WS, query)


def with_query(path: str, query: Mapping[str, object]) -> str:
    """``path`` with ``query`` (``None`` values left out) as its query string."""
    given = {k: str(v) for k, v in query.items() if v is not None}
    return f"{path}?{urlencode(given)}" if given else path


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


Client = TestClient[Any, Any] | ClientSession


async def subscribe(
    transport: str, client: Client, pace: float = 0.0, **query: object
) -> "Listener | EventStreamListener":
    """A listener on ``transport`` ("ws" or "sse") with ``query``."""
    if transport == "ws":
        return await Listener.connect(client, pace, **query)
    return await EventStreamListener.resume(client, None, **query)


class Listener:
    """One WebSocket subscriber: its text frames, collected in the background as they arrive."""

    def __init__(self, ws: ClientWebSocketResponse, pace: float = 0.0) -> None:
        self.ws = ws
        self._start(pace)

    def _start(self, pace: float) -> None:
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
    def close_code(self) -> int | None:
        return self.ws.close_code

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
                    assert self.open, f"closed ({self.close_code}) before {what}"
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            last = self.frames[-1] if self.frames else None
            raise AssertionError(f"{what} not reached in {within} s; last: {last}") from None

    async def ended(self, within: float) -> int | None:
        """Wait for the server to end the stream; its close code."""
        async with asyncio.timeout(within):
            await asyncio.shield(self._task)
        return self.close_code

    async def close(self) -> None:
        await self.ws.close()
        await self._task


class EventStreamListener(Listener):
    """One server-sent events subscriber: the same frames (each event's data; CAUGHT_UP from
    ``event: caught-up``), with every event's id and name, and the comments."""

    def __init__(self, response: ClientResponse) -> None:
        self.response = response
        self.ids: list[str] = []  # each event's id: field, CAUGHT_UP's included
        self.names: list[str] = []  # each event's event: field ("message" when it has none)
        self.comments = 0
        self._start(0.0)

    @classmethod
    async def connect(
        cls, client: Client, pace: float = 0.0, **query: object
    ) -> "EventStreamListener":
        """Subscribe through ``client`` with ``query`` (``pace`` is the WebSocket's alone)."""
        return await cls.resume(client, None, **query)

    @classmethod
    async def resume(
        cls, client: Client, last_event_id: str | None, **query: object
    ) -> "EventStreamListener":
        """Subscribe as a reconnecting EventSource does, with ``Last-Event-ID``."""
        headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
        response = await client.get(with_query(SSE, query), headers=headers)
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"] == "text/event-stream"
        return cls(response)

    async def _collect(self) -> None:
        """Parse the stream as a browser's EventSource does (HTML Living Standard, 9.2.6)."""
        fields: dict[str, list[str]] = {}
        try:
            async for raw in self.response.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith(":"):
                    self.comments += 1
                elif line:
                    name, _, value = line.partition(":")
                    fields.setdefault(name, []).append(value.removeprefix(" "))
                elif "data" in fields:
                    self.frames.append(decode("\n".join(fields["data"])))
                    self.ids.append(fields.get("id", [""])[-1])
                    self.names.append(fields.get("event", ["message"])[-1])
                    fields = {}
                    self._arrived.set()
                else:
                    fields = {}
        except (ClientError, ConnectionError):
            pass  # the server reset it
        finally:
            self._arrived.set()

    @property
    def close_code(self) -> int | None:
        return None  # no close codes: the server just ends the body

    async def close(self) -> None:
        self.response.close()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


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
