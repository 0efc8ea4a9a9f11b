"""A subscriber's stream: replay from the log, then live from the reader, with no seam.

The subscription tracks ``position``: every entry up to it has been sent or filtered out.
While catching up it pages through the log itself, at the client's pace. It goes live only
when the reader has not read past ``position`` (checked and registered without a pause, so no
entry slips between); the reader then offers every later entry, and older ones are skipped,
so none is sent twice. Live entries are written straight to an idle client's socket; a busy
one's wait in a bounded buffer, and a client that lets it overflow is switched back to the log.
A client that takes no frame for a while is for the caller to close (see ``stalled_for``).

An idle live subscriber has no task of its own: a sender task exists only while there is work,
the replay and CAUGHT_UP first (``begin``), then whenever frames wait for a busy client or a
client that fell behind reads the log. What ends it (a failure, ``stop``) resolves ``ended``.

The transport (WebSocket, server-sent events) is an ``Outlet``: how an entry and CAUGHT_UP
look on its wire, and how whole frames are written. A replayed page, or a live backlog, goes
out in one write of all its frames.
"""

import asyncio
from collections.abc import Callable, Sequence
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

    @property
    def everything(self) -> bool:
        return self.funko_id is None and self.types is None

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
    """One client's stream: ``begin`` it, then await ``ended`` (or ``close`` it)."""

    # One per subscriber, thousands per process: no __dict__ each.
    __slots__ = (
        "_after",
        "_buffer",
        "_direct",
        "_ended",
        "_failed",
        "_limit",
        "_live",
        "_outlet",
        "_queued",
        "_reader",
        "_sender",
        "_sending_since",
        "_wanted",
        "frames_sent",
        "position",
        "switches_to_log",
    )

    def __init__(
        self,
        reader: LogReader,
        outlet: Outlet,
        wanted: StreamFilter,
        after: int | None,
        buffer: int = BUFFER,
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._reader, self._outlet = reader, outlet
        self._wanted, self._after, self._limit = wanted, after, buffer
        self._failed = failed  # told what a sender task's stream failed on
        self.position = 0
        self._queued = 0  # live: every entry up to here is sent, buffered or filtered out
        self._buffer: list[Entry] = []
        self._live = False  # registered with the reader
        self._direct = False  # live, CAUGHT_UP sent, nothing buffered or being sent
        self._sender: asyncio.Task[None] | None = None  # while frames wait, or it catches up
        self._ended: asyncio.Future[None] | None = None
        self._sending_since: float | None = None
        self.frames_sent = 0  # for metrics: frames handed to the client's socket
        self.switches_to_log = 0  # for metrics: times it fell behind while live

    def stalled_for(self, now: float) -> float:
        """Seconds the frame being sent has waited for the client (0 when none waits)."""
        return 0.0 if self._sending_since is None else now - self._sending_since

    def offer(self, entries: Sequence[Entry]) -> None:
        """The reader's fan-out: send or queue what is new and wanted, in one write; never
        blocks. Ignored once the subscription has left the reader (the reader may offer to
        those it had when its fan-out began)."""
        if not self._live:
            return
        fresh: list[Entry] = []
        before = self._queued  # all up to here went out or was filtered
        for entry in entries:
            if entry.position <= self._queued:
                continue
            if not fresh:
                before = self._queued
            self._queued = entry.position
            if self._wanted.admits(entry):
                fresh.append(entry)
        if self._direct:
            if not fresh:
                self.position = self._queued
                return
            framed = self._outlet.framed
            frames = framed(fresh[0]) if len(fresh) == 1 else b"".join(map(framed, fresh))
            if self._outlet.write(frames):
                self.frames_sent += len(fresh)
                self.position = self._queued
                return
            self._direct = False
            self.position = before
        self._buffer.extend(fresh)
        if len(self._buffer) > self._limit:
            self.switches_to_log += 1
            self._reader.unsubscribe(self)
            self._live = False
            self._buffer = []  # re-read from the log at the client's pace
            self._send_later()
        elif self._buffer:
            self._send_later()

    def begin(self) -> None:
        """Replay (if asked), say CAUGHT_UP once, then stream live until stopped."""
        self._sender = asyncio.create_task(self._send_waiting(starting=True))

    @property
    def ended(self) -> "asyncio.Future[None]":
        """Resolved when the stream ends: ``stop``, or a sender task's failure (its error)."""
        if self._ended is None:
            self._ended = asyncio.get_running_loop().create_future()
        return self._ended

    def stop(self) -> None:
        """End the stream (a transport's goodbye): ``ended`` resolves, nothing more is sent."""
        self._end(None)

    async def close(self) -> None:
        """Stop, and wait for a sender task to go."""
        self._end(None)
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)

    def _end(self, error: BaseException | None) -> None:
        self._reader.unsubscribe(self)
        self._live = self._direct = False
        ended = self.ended
        if not ended.done():
            if error is None:
                ended.set_result(None)
            else:
                ended.set_exception(error)
                ended.exception()  # whoever awaits it hears it; nobody may, and that is fine
        if self._sender is not None and self._sender is not asyncio.current_task():
            self._sender.cancel()

    @property
    def _stopped(self) -> bool:
        return self._ended is not None and self._ended.done()

    def _send_later(self) -> None:
        if self._sender is None and not self._stopped:
            self._sender = asyncio.create_task(self._send_waiting())
        # else the sender looks at the buffer and the log again before it stops

    async def _send_waiting(self, starting: bool = False) -> None:
        """The sender task: first (``starting``) the replay and CAUGHT_UP; then what waits in
        the buffer, or the log if it fell behind; then back to direct writes, and gone."""
        try:
            if starting:
                await self._start()
            while not (self._live and not self._buffer) and not self._stopped:
                if not self._live:
                    await self._catch_up()
                    if self._stopped:
                        return
                    self._go_live()
                    continue
                waiting, self._buffer = self._buffer, []
                await self._frames(b"".join(map(self._outlet.framed, waiting)), len(waiting))
                self.position = waiting[-1].position
            if not self._stopped:  # no pause since the check: nothing can have come between
                self.position = max(self.position, self._queued)
                self._direct = True
        except asyncio.CancelledError:
            raise
        except BaseException as error:
            self._end(error)
            if self._failed is not None:
                self._failed(error)
        finally:
            self._sender = None

    async def _start(self) -> None:
        if self._after is None:
            self.position = self._reader.position
        else:
            self.position = self._after
            await self._catch_up()
            if self._stopped:
                return
        self._go_live()
        await self._frames(self._outlet.caught_up(self.position), 1)

    async def _catch_up(self) -> None:
        # Page through the log until the reader has not read past us (or the stream ends).
        while self._reader.position > self.position and not self._stopped:
            page = await self._reader.entries_after(self.position, PAGE)
            admits = self._wanted.admits
            wanted = page if self._wanted.everything else [e for e in page if admits(e)]
            if wanted:
                await self._frames(b"".join(map(self._outlet.framed, wanted)), len(wanted))
            # Never empty: the reader has read past us, so those events are there to read.
            self.position = page[-1].position

    def _go_live(self) -> None:
        self._queued = self.position
        self._live = True
        self._reader.subscribe(self)

    async def _frames(self, frames: bytes, count: int) -> None:
        self._sending_since = asyncio.get_running_loop().time()
        try:
            await self._outlet.send(frames)
            self.frames_sent += count
        finally:
            self._sending_since = None
