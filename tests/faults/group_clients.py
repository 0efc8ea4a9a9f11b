"""A consumer group's members as a service runs them, on real connections to ``run.py serve``
processes, each writing down what it receives and acknowledges in a shared ledger; and the
group's standing as its admins read it.

A member acknowledges at once, or after a delay (holding events meanwhile), or never; when its
connection drops it may join again through another server, as a service behind a load
balancer does.
"""

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import ClientWebSocketResponse, WSMsgType

from tests.faults.group_ledger import Event, Ledger
from tests.support.tokens import ADMIN, CONSUMER

GROUPS = "/api/v1/groups"
CLOSE_WAIT = aiohttp.ClientWSTimeout(ws_close=1.0)  # a dead server's close is not awaited long


def everything(event: Event) -> bool:
    return True


def nothing(event: Event) -> bool:
    return False


class GroupMember:
    """A member as a service runs one: joins through the first of ``bases`` that answers,
    writes down each event, acknowledges those ``acknowledges`` picks (at once, or ``delay``
    seconds after the first, with those that came meanwhile), and joins again when its
    connection drops (if it ``rejoins``)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        ledger: Ledger,
        name: str,
        group: str,
        bases: list[str],
        *,
        prefetch: int = 100,
        delay: float = 0.0,
        acknowledges: Callable[[Event], bool] = everything,
        rejoins: bool = False,
    ) -> None:
        self.session, self.ledger, self.name = session, ledger, name
        self.path = f"/ws/v1/groups/{group}?prefetch={prefetch}"
        self.bases, self.delay, self.rejoins = bases, delay, rejoins
        self.acknowledges = acknowledges
        self.events: list[Event] = []
        self.holding: set[int] = set()  # received on this connection, acknowledgement not sent
        self.socket: ClientWebSocketResponse | None = None
        self._due: list[int] = []  # to acknowledge when the delay is up

    async def run(self) -> None:
        while True:
            self.socket = socket = await self._join()
            later: set[asyncio.Task[None]] = set()
            try:
                await self._take(socket, later)
            finally:
                for task in later:
                    task.cancel()
                self.holding.clear()
                self._due = []
            if not self.rejoins:
                return

    def cut(self) -> None:
        """Drop the connection as a killed member process would: no close frame."""
        assert self.socket is not None and self.socket._conn is not None
        self.socket._conn.transport.abort()  # type: ignore[union-attr]

    async def _join(self) -> ClientWebSocketResponse:
        for base in itertools.cycle(self.bases):
            with contextlib.suppress(aiohttp.ClientError, OSError):
                url = base + self.path
                return await self.session.ws_connect(url, headers=CONSUMER, timeout=CLOSE_WAIT)
            await asyncio.sleep(0.1)
        raise AssertionError("unreachable")

    async def _take(self, socket: ClientWebSocketResponse, later: set[asyncio.Task[None]]) -> None:
        async for message in socket:
            if message.type is not WSMsgType.TEXT:
                return
            event = json.loads(message.data)
            self.ledger.got(self.name, event)
            self.events.append(event)
            self.holding.add(event["position"])
            if self.acknowledges(event):
                await self._acknowledge(socket, event["position"], later)

    async def _acknowledge(
        self, socket: ClientWebSocketResponse, position: int, later: set[asyncio.Task[None]]
    ) -> None:
        """At once, or with whatever else comes within ``delay`` seconds, in one answer."""
        if not self.delay:
            await self._ack(socket, [position])
            return
        self._due.append(position)
        if len(self._due) == 1:
            task = asyncio.create_task(self._ack_later(socket))
            later.add(task)
            task.add_done_callback(later.discard)

    async def _ack_later(self, socket: ClientWebSocketResponse) -> None:
        await asyncio.sleep(self.delay)
        due, self._due = self._due, []
        await self._ack(socket, due)

    async def _ack(self, socket: ClientWebSocketResponse, positions: list[int]) -> None:
        if socket.closed:
            return
        self.ledger.acking(self.name, positions)
        self.holding.difference_update(positions)
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            await socket.send_json({"type": "ACK", "positions": positions})


async def standing(session: aiohttp.ClientSession, base: str, group: str) -> dict[str, Any]:
    """GET /api/v1/groups/{group}."""
    async with session.get(f"{base}{GROUPS}/{group}", headers=ADMIN) as response:
        assert response.status == 200, await response.text()
        shown: dict[str, Any] = await response.json()
        return shown


async def until(
    session: aiohttp.ClientSession, base: str, group: str, within: float, **wanted: Any
) -> dict[str, Any]:
    """The group's standing once it shows ``wanted`` (fails after ``within`` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        shown = await standing(session, base, group)
        if all(shown[key] == value for key, value in wanted.items()):
            return shown
        assert loop.time() < deadline, f"not within {within} s: {wanted}; the group: {shown}"
        await asyncio.sleep(0.1)


async def new_group(session: aiohttp.ClientSession, base: str, name: str) -> dict[str, Any]:
    """PUT /api/v1/groups/{name} with the default settings; its standing."""
    async with session.put(f"{base}{GROUPS}/{name}", json={}, headers=ADMIN) as response:
        assert response.status == 201, await response.text()
    return await standing(session, base, name)
