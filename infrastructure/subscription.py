"""A subscriber's stream: replay from the log, then live from the reader, with no seam.

The subscription tracks ``position``: every entry up to it has been sent or filtered out.
While catching up it pages through the log itself, at the client's pace. It goes live only
when the reader has not read past ``position`` (checked and registered without a pause, so no
entry slips between); the reader then offers every later entry, and older ones are skipped,
so none is sent twice. A live subscriber whose buffer overflows (it reads too slowly) drops
the buffer and catches up from the log again; one that stops reading is closed with 4008.
"""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from infrastructure.envelopes import Entry, entries_after
from infrastructure.json_codec import dumpb
from infrastructure.log_reader import LogReader

Send = Callable[[bytes], Awaitable[None]]  # sends one text frame of UTF-8 JSON
BUFFER = 1024  # entries a live subscriber may have waiting before it is switched to the log
PAGE = 1000
SEND_TIMEOUT = 10.0  # a frame the client has not taken in this long means it stopped reading


class Stalled(Exception):
    """The client stopped reading: a frame could not be sent within the timeout."""


@dataclass(frozen=True)
class StreamFilter:
    """What a subscriber asked to see: one Funko, some event types, or everything."""

    funko_id: UUID | None = None
    types: frozenset[str] | None = None

    def admits(self, entry: Entry) -> bool:
        return (self.funko_id is None or entry.funko_id == self.funko_id) and (
            self.types is None or entry.type in self.types
        )


class Subscription:
    """One client's stream; ``run`` sends until the client goes or stalls."""

    def __init__(
        self,
        reader: LogReader,
        pool: asyncpg.Pool,
        send: Send,
        wanted: StreamFilter,
        after: int | None,
        buffer: int = BUFFER,
        send_timeout: float = SEND_TIMEOUT,
    ) -> None:
        self._reader, self._pool, self._send, self._wanted = reader, pool, send, wanted
        self._after, self._limit, self._send_timeout = after, buffer, send_timeout
        self.position = 0
        self._queued = 0  # live: every entry up to here is in the buffer or filtered out
        self._buffer: deque[Entry] = deque()
        self._live = False
        self._wake = asyncio.Event()
        self.fell_behind = 0  # times the buffer overflowed and the log took over

    def offer(self, entries: Sequence[Entry]) -> None:
        """The reader's fan-out: queue what is new and wanted; never blocks."""
        for entry in entries:
            if entry.position > self._queued:
                self._queued = entry.position
                if self._wanted.admits(entry):
                    self._buffer.append(entry)
        if len(self._buffer) > self._limit:
            self._reader.unsubscribe(self)
            self._live = False
            self._buffer.clear()  # re-read from the log at the client's pace
            self.fell_behind += 1
        self._wake.set()

    async def run(self) -> None:
        """Replay (if asked), say CAUGHT_UP once, then stream live; raises Stalled."""
        try:
            if self._after is None:
                self.position = self._reader.position
            else:
                self.position = self._after
                await self._catch_up()
            self._go_live()
            await self._frame(dumpb({"type": "CAUGHT_UP", "position": self.position}))
            while True:
                if self._live:
                    await self._drain()
                else:
                    await self._catch_up()
                    self._go_live()
        finally:
            self._reader.unsubscribe(self)

    async def _catch_up(self) -> None:
        # Page through the log until the reader has not read past us.
        while self._reader.position > self.position:
            entries = await entries_after(self._pool, self.position, PAGE)
            for entry in entries:
                if self._wanted.admits(entry):
                    await self._frame(entry.envelope)
                self.position = entry.position

    def _go_live(self) -> None:
        self._queued = self.position
        self._live = True
        self._reader.subscribe(self)

    async def _drain(self) -> None:
        await self._wake.wait()
        self._wake.clear()
        while self._live and self._buffer:
            entry = self._buffer.popleft()
            await self._frame(entry.envelope)
            self.position = entry.position
        if self._live:
            self.position = max(self.position, self._queued)

    async def _frame(self, frame: bytes) -> None:
        try:
            async with asyncio.timeout(self._send_timeout):
                await self._send(frame)
        except TimeoutError:
            raise Stalled(f"no frame taken in {self._send_timeout:g} s") from None
