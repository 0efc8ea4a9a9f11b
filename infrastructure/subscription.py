"""A subscriber's stream: replay from the log, then live from the reader, with no seam.

The subscription tracks ``position``: every entry up to it has been sent or filtered out.
While catching up it pages through the log itself, at the client's pace. It goes live only
when the reader has not read past ``position`` (checked and registered without a pause, so no
entry slips between); the reader then offers every later entry, and older ones are skipped,
so none is sent twice. Live entries are written straight to an idle client's socket; a busy
one's wait in a bounded buffer, and a client that lets it overflow is switched back to the log.
A client that takes no frame for a while is for the caller to close (see ``stalled_for``).

The transport (WebSocket, server-sent events) is an ``Outlet``: how an entry and CAUGHT_UP
look on its wire, and how whole frames are written. A replayed page, or a live backlog, goes
out in one write of all its frames.
"""

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from infrastructure.envelopes import Entry
from infrastructure.log_reader import LogReader

BUFFER = 1024  # entries a live subscriber may have waiting before it is switched to the log
PAGE = 1000


@dataclass(frozen=True)
class StreamFilter:
    """What a subscriber asked to see: one Funko, some event types, or everything."""

    funko_id: UUID | None = None
    types: frozenset[str] | None = None

    def admits(self, entry: Entry) -> bool:
        return (self.funko_id is None or entry.funko_id == self.funko_id) and (
            self.types is None or entry.type in self.types
        )


class Outlet(Protocol):
    """One transport's side of a subscription."""

    def framed(self, entry: Entry) -> bytes:
        """The entry as this transport's frame (made once per entry, shared)."""
        ...

    def caught_up(self, position: int) -> bytes:
        """The CAUGHT_UP frame."""
        ...

    async def send(self, frames: bytes) -> None:
        """Write whole frames; wait while the client is slow (ConnectionResetError if gone)."""
        ...

    def write(self, frames: bytes) -> bool:
        """Write whole frames if the socket has room, else nothing (False); never wait."""
        ...


class Subscription:
    """One client's stream; ``run`` sends until the client goes away."""

    def __init__(
        self,
        reader: LogReader,
        outlet: Outlet,
        wanted: StreamFilter,
        after: int | None,
        buffer: int = BUFFER,
    ) -> None:
        self._reader, self._outlet = reader, outlet
        self._wanted, self._after, self._limit = wanted, after, buffer
        self.position = 0
        self._queued = 0  # live: every entry up to here is sent, buffered or filtered out
        self._buffer: deque[Entry] = deque()
        self._live = False  # registered with the reader
        self._direct = False  # live, CAUGHT_UP sent, nothing buffered or being sent
        self._wake = asyncio.Event()
        self._stopped = False
        self._sending_since: float | None = None
        self.frames_sent = 0  # for metrics: frames handed to the client's socket
        self.switches_to_log = 0  # for metrics: times it fell behind while live

    def stalled_for(self, now: float) -> float:
        """Seconds the frame being sent has waited for the client (0 when none waits)."""
        return 0.0 if self._sending_since is None else now - self._sending_since

    def offer(self, entries: Sequence[Entry]) -> None:
        """The reader's fan-out: send or queue what is new and wanted; never blocks."""
        for entry in entries:
            if entry.position <= self._queued:
                continue
            previous, self._queued = self._queued, entry.position
            if not self._wanted.admits(entry):
                continue
            if self._direct:
                if self._outlet.write(self._outlet.framed(entry)):
                    self.frames_sent += 1
                    continue
                self._direct = False
                self.position = previous  # all before this entry went out or was filtered
            self._buffer.append(entry)
        if self._direct:
            self.position = self._queued
        elif len(self._buffer) > self._limit:
            self.switches_to_log += 1
            self._reader.unsubscribe(self)
            self._live = False
            self._buffer.clear()  # re-read from the log at the client's pace
            self._wake.set()
        elif self._buffer:
            self._wake.set()

    def stop(self) -> None:
        """End ``run`` when it next waits for events (a transport's goodbye)."""
        self._stopped = True
        self._wake.set()

    async def run(self) -> None:
        """Replay (if asked), say CAUGHT_UP once, then stream live until stopped."""
        try:
            if self._after is None:
                self.position = self._reader.position
            else:
                self.position = self._after
                await self._catch_up()
            self._go_live()
            await self._frames(self._outlet.caught_up(self.position), 1)
            while not self._stopped:
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
            page = await self._reader.entries_after(self.position, PAGE)
            wanted = [entry for entry in page if self._wanted.admits(entry)]
            if wanted:
                await self._frames(b"".join(map(self._outlet.framed, wanted)), len(wanted))
            # Never empty: the reader has read past us, so those events are there to read.
            self.position = page[-1].position

    def _go_live(self) -> None:
        self._queued = self.position
        self._live = True
        self._reader.subscribe(self)

    async def _drain(self) -> None:
        self._direct = not self._buffer
        await self._wake.wait()
        self._wake.clear()
        while self._live and self._buffer:
            waiting = list(self._buffer)
            self._buffer.clear()
            await self._frames(b"".join(map(self._outlet.framed, waiting)), len(waiting))
            self.position = waiting[-1].position
        if self._live:
            self.position = max(self.position, self._queued)

    async def _frames(self, frames: bytes, count: int) -> None:
        self._sending_since = asyncio.get_running_loop().time()
        try:
            await self._outlet.send(frames)
            self.frames_sent += count
        finally:
            self._sending_since = None
