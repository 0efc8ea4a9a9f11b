"""One log reader per process: a LISTEN wake-up, one read of the log, fan-out to subscribers.

The LISTEN connection is its own ``asyncpg.connect()`` (a pool's reset runs ``UNLISTEN *``),
owned by one task that reconnects with backoff. A notification only wakes the reader; it
then reads every event after its own position and offers them to each local subscriber.
Notifications can be lost (a dropped connection, a restart), so the reader also reads after
every reconnect and after a quiet spell.
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

    def __init__(self, url: str, pool: asyncpg.Pool, page: int = PAGE, quiet: float = QUIET):
        self.position = 0
        self.listening = asyncio.Event()  # set while the LISTEN connection is up
        self._url, self._pool, self._page, self._quiet = url, pool, page, quiet
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
        """Up to ``limit`` events after ``after``, read from the log (a replay's own pace)."""
        return await entries_after(self._pool, after, limit)

    def wake(self) -> None:
        """Read the log now (as a notification would)."""
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
            await conn.add_listener(CHANNEL, lambda *_: self._wake.set())
            self.listening.set()
            self._wake.set()  # whatever committed while we were away
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
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._quiet):
                    await self._wake.wait()
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
            self._wake.set()

    async def _read_new(self) -> None:
        while True:
            entries = await entries_after(self._pool, self.position, self._page)
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
