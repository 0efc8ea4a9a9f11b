"""The PostgreSQL event log: atomic appends with group commit (and a Funko's events read back).

Ordering guarantee: every append transaction first locks the single ``log_head`` row
(``SELECT … FOR UPDATE``) and holds it until commit. Positions are handed out as
``head + 1, head + 2, …`` under that lock, and PostgreSQL releases row locks only after
the commit is visible, so the next appender starts from a committed head. Hence positions
grow in commit order: a reader that has seen every position ≤ N and asks for
``position > N`` can never miss an event that commits later. Optimistic concurrency is
checked under the same lock; ``UNIQUE (funko_id, version)`` backs it up.

Each append NOTIFYs ``funko_events`` (delivered at commit): a wake-up for the log readers of
every server process, never the data; they read the log from their own position.

Group commit: concurrent ``append`` calls queue their commands; one committer task per
process drains the queue into one call of ``append_batch`` (migration 0007), one statement and
so one transaction and one round trip. It accepts each command on its own (so each keeps its
own success or conflict: its Funko at the version it expects, counting the commands accepted
before it; the command it follows accepted; its Idempotency-Key not yet recorded), numbers and
hash-chains the accepted events, inserts them with their keys, folds them into the catalog
(``catalog_apply``, the projection's own fold), moves the head, and NOTIFYs. The committer
keeps one connection for itself, planned per execution (``force_custom_plan``): a plan cached
while the tables were small would otherwise scan them whole.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Generator, Sequence
from contextvars import ContextVar
from functools import partial
from time import perf_counter
from types import TracebackType
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain.ports import IdempotencyKey, KeyTaken, VersionConflict
from infrastructure.database import UNAVAILABLE
from infrastructure.events import NewEvent
from infrastructure.projection import CatalogProjection, name_key

MAX_BATCH = 512
log = logging.getLogger(__name__)
# When the current request's commands must commit by (wall clock, epoch seconds), if it has a
# deadline: append_batch refuses a command it reaches after that (the head's lock held it, or
# a frozen database), so the request's caller, answered "too late", can trust it was not
# applied. It compares with the database's clock: a skew between the hosts narrows or widens
# the margin the web layer leaves (web/deadline.py).
COMMIT_BY: ContextVar[float | None] = ContextVar("commit_by", default=None)


class StoreUnavailable(Exception):
    """The database could not take the append (down, restarting, or the store is closed)."""


class AppendRefused(Exception):
    """The database refused a command's events (a bug: the domain should have caught it)."""


class Appending:
    """One command queued for the log; awaiting it gives its events' positions.

    A command may follow another (``after``): one computed on the state that the other
    leaves. It is then accepted only if that one is in the log or accepted in the same
    transaction: its expected version alone cannot tell that state from a rival's.
    """

    __slots__ = ("after", "commit_by", "event", "future", "key", "outcome", "positions")

    def __init__(
        self,
        event: NewEvent,
        after: Appending | None,
        key: IdempotencyKey | None = None,
        refused: Exception | None = None,
    ) -> None:
        self.event, self.after, self.key = event, after, key
        self.commit_by = COMMIT_BY.get()
        self.future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self.positions: list[int] = []
        self.outcome = CONFLICT  # append_batch's, once it has answered
        if refused is not None:
            self.future.set_exception(refused)

    def __await__(self) -> Generator[Any, None, list[int]]:
        return self.future.__await__()

    def cancel(self) -> None:
        """Give up on the command: it is not appended unless its commit is under way."""
        self.future.cancel()

    def stands(self) -> bool:
        """Whether the command is in the log, or accepted in the transaction under way."""
        future = self.future
        failed = future.done() and (future.cancelled() or future.exception() is not None)
        return bool(self.positions) and not failed


APPEND = """
SELECT append_batch($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[],
                    $7::text[], $8::text[], $9::timestamptz[], $10::int[], $11::text[],
                    $12::text[], $13::bytea[], $14::text[], $15::float8[])
"""
# append_batch's outcomes besides a position: its Funko not at the version it expects (or the
# command it follows refused), its key made an event already, its commit-by time had passed.
CONFLICT, TAKEN, LATE = 0, -1, -2


class EventStore:
    """Appends (group-committed) and reads of the event log. Use as ``async with``."""

    def __init__(self, pool: asyncpg.Pool, max_batch: int = MAX_BATCH) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._queue: list[Appending] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._conn: PoolConnectionProxy[asyncpg.Record] | None = None
        # Events committed by this store, and wall time spent in commits (read by /metrics and
        # the bench).
        self.appended = 0
        self.committing_seconds = 0.0

    async def __aenter__(self) -> EventStore:
        self._task = asyncio.create_task(self._commit_forever(), name="event-store-committer")
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Drain: commands already queued are committed before the store closes.
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self._drop_connection()

    def append(
        self, event: NewEvent, after: Appending | None = None, key: IdempotencyKey | None = None
    ) -> Appending:
        """Queue one command's event, to be appended after what is queued already (and only if
        ``after`` is, when given), with ``key`` recorded in the same transaction; await it for
        its position (a list of one).

        The awaited outcome is VersionConflict (nothing written) when the Funko is no longer
        at ``event.version - 1``, or ``after`` was not appended; KeyTaken when ``key`` made an
        event already; StoreUnavailable when the database took it up after ``COMMIT_BY``.
        """
        if self._closing or self._task is None:
            closed = StoreUnavailable("the event store is closed")
            return Appending(event, after, refused=closed)
        command = Appending(event, after, key)
        self._queue.append(command)
        self._wake.set()
        return command

    async def _commit_forever(self) -> None:
        while self._queue or not self._closing:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            await self._commit_settling(batch)

    async def _commit_settling(self, batch: Sequence[Appending]) -> None:
        """Commit ``batch``; on failure tell each waiter, one command never sinking the rest.

        The database being unavailable fails everyone. Anything else (data the database
        refuses, a bug that one command's content triggers) may be one command's fault: each
        is then committed alone, so only the faulty one fails.
        """
        try:
            await self._commit(batch)
        except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as error:
            await self._isolate(batch, error)
        except UNAVAILABLE as error:
            log.warning("append batch of %d failed: %s", len(batch), error)
            await self._drop_connection()
            self._settle(batch, partial(StoreUnavailable, str(error)))
        except Exception as error:
            await self._isolate(batch, error)

    async def _isolate(self, batch: Sequence[Appending], error: Exception) -> None:
        if len(batch) > 1:
            for command in batch:
                await self._commit_settling([command])
        elif isinstance(error, asyncpg.UniqueViolationError):
            # A writer outside this lock discipline raced us: nothing was written.
            self._settle(batch, VersionConflict)
        else:  # a bug: the domain should have refused the command; the committer lives on
            log.exception("append refused", exc_info=error)
            self._settle(batch, partial(_refused, error))

    @staticmethod
    def _settle(batch: Sequence[Appending], error: Callable[[], Exception]) -> None:
        for command in batch:
            if not command.future.done():
                command.future.set_exception(error())

    async def _connection(self) -> PoolConnectionProxy[asyncpg.Record]:
        if self._conn is None or self._conn.is_closed():
            await self._drop_connection()
            self._conn = await self._pool.acquire()
            await self._conn.execute("SET plan_cache_mode = force_custom_plan")
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._pool.release(conn)

    async def _commit(self, batch: Sequence[Appending]) -> None:
        started = perf_counter()
        try:
            await self._commit_transaction(batch)
        finally:
            self.committing_seconds += perf_counter() - started

    async def _commit_transaction(self, batch: Sequence[Appending]) -> None:
        for command in batch:
            command.positions, command.outcome = [], CONFLICT  # a retried one starts afresh
        candidates = _candidates(batch)
        if candidates:
            conn = await self._connection()
            arguments = _arguments(candidates)
            outcomes = await conn.fetchval(APPEND, *arguments)
            if outcomes is None:  # the catalog is behind the log: catch it up, then append
                await CatalogProjection().catch_up(conn)
                outcomes = await conn.fetchval(APPEND, *arguments)
            for command, outcome in zip(candidates, outcomes, strict=True):
                command.outcome = outcome
                if outcome > 0:
                    command.positions = [outcome]
            self.appended += sum(1 for outcome in outcomes if outcome > 0)
        # Settle only after commit, so a loser that retries loads the winner's events.
        for command in batch:
            if command.future.done():
                continue
            if command.positions:
                command.future.set_result(command.positions)
            else:
                command.future.set_exception(_refusal(command.outcome))

    async def load(self, funko_id: UUID, upto: int | None = None) -> list[asyncpg.Record]:
        """The stored events of one Funko in version order, up to version ``upto`` if given:
        version, topic, state (JSON text)."""
        return await self._pool.fetch(
            "SELECT version, topic, state::text AS state FROM events"
            " WHERE funko_id = $1 AND version <= $2 ORDER BY version",
            funko_id,
            upto if upto is not None else 2**31 - 1,
        )


def _candidates(batch: Sequence[Appending]) -> list[Appending]:
    """The commands worth sending: not given up by their callers (one answered 503 must not be
    applied later, when the database answers again), and following a command that stands or is
    sent with them."""
    sent: set[int] = set()
    candidates = []
    for command in batch:
        after = command.after
        if command.future.cancelled() or (
            after is not None and id(after) not in sent and not after.stands()
        ):
            continue
        sent.add(id(command))
        candidates.append(command)
    return candidates


def _arguments(candidates: Sequence[Appending]) -> list[list[Any]]:
    """append_batch's arrays: the events' columns, what each follows, their keys, name keys,
    commit-by times."""
    index = {id(c): n for n, c in enumerate(candidates, start=1)}
    columns: list[list[Any]] = [list(c) for c in zip(*(c.event for c in candidates), strict=True)]
    keys = [c.key for c in candidates]
    return [
        *columns,
        [index.get(id(c.after), 0) if c.after is not None else 0 for c in candidates],
        [k.owner if k else None for k in keys],
        [k.key if k else None for k in keys],
        [k.fingerprint if k else None for k in keys],
        [name_key(c.event.data) for c in candidates],
        [c.commit_by for c in candidates],
    ]


def _refusal(outcome: int) -> Exception:
    if outcome == TAKEN:
        return KeyTaken()
    if outcome == LATE:
        return StoreUnavailable("the database took the write up too late to commit it in time")
    return VersionConflict()


def _refused(cause: Exception) -> AppendRefused:
    refused = AppendRefused(f"the append failed: {cause!r}")
    refused.__cause__ = cause
    return refused
