"""One log reader per process: a LISTEN wake-up, one read of the log, fan-out to subscribers.

The LISTEN connection is its own ``asyncpg.connect()`` (a pool's reset runs ``UNLISTEN *``),
owned by one task that reconnects with backoff. A notification only wakes the reader; it
then reads every event after its own position and offers them to each local subscriber.
Notifications can be lost (a dropped connection, a restart), so the reader also reads after
every reconnect and after a quiet spell.

With a replica (``ReplicaReads``), the wake-up still comes from the primary: LISTEN works only
there, and a notification carries the head its commit reached. The reader then reads from the
replica once the replica's own head has reached that position (else from the primary), so it
never takes a replica that has not replayed a commit yet for a log with nothing new. After a
reconnect or a quiet spell, with no notification to go by, it asks the primary for its head.
A subscriber's replay reads the same way, from a database holding what the reader has read.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol

import asyncpg

from infrastructure.database import UNAVAILABLE
from infrastructure.envelopes import Entry, entries_after, head, start_at
from infrastructure.replica_reads import ReplicaReads, reading

CHANNEL = "funko_events"
PAGE = 1000
# Subscribers offered new entries between two turns of the event loop: a slice's socket writes
# take about half a millisecond, so a write in flight waits no longer than that for the fan-out.
FAN_OUT_SLICE = 64
QUIET = 5.0  # seconds without a notification after which the reader looks anyway
KEEPALIVE = 10.0  # seconds between checks that the LISTEN connection still answers
BACKOFF = (0.1, 5.0)
log = logging.getLogger(__name__)


class Subscriber(Protocol):
    """What the reader fans out to; ``offer`` must not block (it is called for everyone), and
    may be called once just after ``unsubscribe`` (the fan-out's list was taken before)."""

    def offer(self, entries: Sequence[Entry]) -> None: ...


class LogReader:
    """Reads the log once per wake-up for all of this process's subscribers."""

    def __init__(
        self,
        url: str,
        db: asyncpg.Pool | ReplicaReads,
        page: int = PAGE,
        quiet: float = QUIET,
    ):
        self.position = 0
        self.listening = asyncio.Event()  # set while the LISTEN connection is up
        self._url, self._page, self._quiet = url, page, quiet
        self._reads = reading(db)
        self._pool = self._reads.primary
        self._notified = 0  # the newest head a notification named
        self._ask_primary = False  # woken without a notification: the primary's head to reach
        self._subscribers: set[Subscriber] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> "LogReader":
        self.position = await head(self._pool)
        self._tasks = [
            asyncio.create_task(self._listen_forever(), name="log-listener"),
            asyncio.create_task(self._read_forever(), name="log-reader"),
        ]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def subscribe(self, subscriber: Subscriber) -> None:
        """From now on, offer ``subscriber`` every entry after ``self.position``."""
        self._subscribers.add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def head(self) -> int:
        """The newest committed position (0 for an empty log)."""
        return await head(self._pool)

    async def start_at(self, since: datetime) -> int:
        """The position after which the first event created at or after ``since`` comes."""
        return await start_at(self._pool, since)

    async def entries_after(self, after: int, limit: int) -> list[Entry]:
        """Up to ``limit`` events after ``after``, read from the log (a replay's own pace),
        from a database holding every event this reader has read."""
        return await self._reads.using(lambda db: entries_after(db, after, limit), self.position)

    def wake(self) -> None:
        """Read the log now (as a notification would)."""
        self._ask_primary = True
        self._wake.set()

    def _notified_of(self, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self._notified = max(self._notified, int(payload))
        self._wake.set()

    async def _listen_forever(self) -> None:
        delay = BACKOFF[0]
        while True:
            try:
                await self._listen_once()
                delay = BACKOFF[0]
            except UNAVAILABLE as error:
                log.warning("LISTEN connection lost (%s); retrying in %.1f s", error, delay)
            except Exception:  # a bug: logged, and the stream keeps trying
                log.exception("LISTEN connection failed; retrying in %.1f s", delay)
            self.listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF[1])

    async def _listen_once(self) -> None:
        conn = await asyncpg.connect(self._url, timeout=10)
        closed = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _: closed.set())
            await conn.add_listener(CHANNEL, lambda *args: self._notified_of(args[-1]))
            self.listening.set()
            self.wake()  # whatever committed while we were away
            while not closed.is_set():
                try:
                    async with asyncio.timeout(KEEPALIVE):
                        await closed.wait()
                except TimeoutError:
                    await conn.execute("SELECT 1", timeout=KEEPALIVE)
        finally:
            conn.terminate()

    async def _read_forever(self) -> None:
        delay = BACKOFF[0]
        while True:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
            try:
                async with asyncio.timeout(self._quiet):
                    await self._wake.wait()
            except TimeoutError:
                self._ask_primary = True
            self._wake.clear()
            try:
                await self._read_new()
                delay = BACKOFF[0]
                continue
            except UNAVAILABLE as error:
                log.warning("reading the log failed (%s); retrying in %.1f s", error, delay)
            except Exception:  # a bug: logged, and the stream keeps trying
                log.exception("reading the log failed; retrying in %.1f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF[1])
            self.wake()

    async def _read_new(self) -> None:
        # The head to read up to: the newest one notified, or the primary's own when woken
        # without a notification (a reconnect, ``wake``, a quiet spell) and a replica may trail.
        reach, ask, self._ask_primary = self._notified, self._ask_primary, False
        if ask and self._reads.replica is not None:
            reach = max(reach, await head(self._pool))
        while True:
            entries = await self._reads.using(
                lambda db: entries_after(db, self.position, self._page), reach
            )
            if not entries:
                return
            self.position = entries[-1].position
            subscribers = list(self._subscribers)
            for start in range(0, len(subscribers), FAN_OUT_SLICE):
                if start:  # requests and commits run between slices, not behind all of them
                    await asyncio.sleep(0)
                for subscriber in subscribers[start : start + FAN_OUT_SLICE]:
                    subscriber.offer(entries)
            if len(entries) < self._page:
                return
