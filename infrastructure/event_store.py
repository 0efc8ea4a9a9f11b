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
process drains the queue into one transaction, checks each command's expected version on
its own (so each keeps its own success or conflict), inserts the accepted events with one
statement, lets the projection follow in the same transaction, and commits once. The
committer keeps one connection for itself, planned per execution (``force_custom_plan``):
a plan cached while the tables were small would otherwise scan them whole for ``= ANY``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Generator, Sequence
from functools import partial
from time import perf_counter
from types import TracebackType
from typing import Any, Protocol
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain.ports import IdempotencyKey, KeyTaken, VersionConflict
from infrastructure import hash_chain
from infrastructure.database import UNAVAILABLE, Connection
from infrastructure.events import LoggedEvent, NewEvent

MAX_BATCH = 512
log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The database could not take the append (down, restarting, or the store is closed)."""


class AppendRefused(Exception):
    """The database refused a command's events (a bug: the domain should have caught it)."""


class Follower(Protocol):
    """A projection that moves in the append transaction (see projection.py)."""

    async def follow(
        self, conn: Connection, head_before: int, new: Sequence[LoggedEvent]
    ) -> None: ...


class Appending:
    """One command queued for the log; awaiting it gives its events' positions.

    A command may follow another (``after``): one computed on the state that the other
    leaves. It is then accepted only if that one is in the log or accepted in the same
    transaction: its expected version alone cannot tell that state from a rival's.
    """

    __slots__ = ("after", "bodies", "events", "expected", "future", "key", "positions", "taken")

    def __init__(
        self,
        events: Sequence[NewEvent],
        bodies: list[bytes],
        after: Appending | None,
        key: IdempotencyKey | None = None,
        refused: Exception | None = None,
    ) -> None:
        self.expected = events[0].version - 1
        self.events, self.bodies, self.after, self.key = events, bodies, after, key
        self.future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self.positions: list[int] = []
        self.taken = False  # its key made an event already
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
WITH appended AS (
INSERT INTO events
    (position, funko_id, version, type, topic, state, data, changes, actor, created_at, hash)
SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::int[], $4::text[], $5::text[],
                     $6::json[], $7::json[], $8::json[], $9::text[], $10::timestamptz[],
                     $11::bytea[])
), keyed AS (
INSERT INTO idempotency_keys (owner, key, fingerprint, position)
SELECT * FROM unnest($14::text[], $15::text[], $16::bytea[], $17::bigint[])
)
UPDATE log_head SET position = $12::bigint, hash = $13::bytea
RETURNING pg_notify('funko_events', $12::bigint::text)
"""
TAKEN = """
SELECT owner, key FROM idempotency_keys
WHERE (owner, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))
"""
VERSIONS = """
SELECT DISTINCT ON (funko_id) funko_id, version FROM events
WHERE funko_id = ANY($1::uuid[]) ORDER BY funko_id, version DESC
"""


class EventStore:
    """Appends (group-committed) and reads of the event log. Use as ``async with``."""

    def __init__(self, pool: asyncpg.Pool, follower: Follower, max_batch: int = MAX_BATCH) -> None:
        self._pool = pool
        self._follower = follower
        self._max_batch = max_batch
        self._queue: list[Appending] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._conn: PoolConnectionProxy[asyncpg.Record] | None = None
        # Events committed by this store, wall time spent in commit transactions, and the
        # hash chain's part of it (read by /metrics and the bench).
        self.appended = 0
        self.committing_seconds = 0.0
        self.hashing_seconds = 0.0

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
        self,
        events: Sequence[NewEvent],
        after: Appending | None = None,
        key: IdempotencyKey | None = None,
    ) -> Appending:
        """Queue one command's events of one Funko, to be appended atomically after what is
        queued already (and only if ``after`` is, when given), with ``key`` recorded in the
        same transaction; await it for their positions.

        The awaited outcome is VersionConflict (nothing written) when the Funko is no longer
        at ``events[0].version - 1``, or ``after`` was not appended; KeyTaken when ``key``
        made an event already.
        """
        try:  # what cannot be encoded fails here, alone, not in a batch
            bodies = [hash_chain.body(e) for e in events]
        except UnicodeError as error:
            return Appending(events, [], after, refused=_refused(error))
        if self._closing or self._task is None:
            closed = StoreUnavailable("the event store is closed")
            return Appending(events, [], after, refused=closed)
        command = Appending(events, bodies, after, key)
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
        conn = await self._connection()
        async with conn.transaction():
            head_before, tip = await _head_and_tip(conn)
            versions, taken = await _versions(conn, batch), await _taken(conn, batch)
            accepted = _number(batch, versions, taken, head_before)
            if accepted:
                started = perf_counter()
                hashes = _chain(tip, [(p, body) for p, _, body in accepted])
                self.hashing_seconds += perf_counter() - started
                positions = [p for p, _, _ in accepted]
                columns = zip(*(e for _, e, _ in accepted), strict=True)  # an array per field
                tip_of_log = (positions[-1], hashes[-1])
                await conn.execute(APPEND, positions, *columns, hashes, *tip_of_log, *_keys(batch))
                logged = [LoggedEvent(p, e.funko_id, e.type, e.data) for p, e, _ in accepted]
                await self._follower.follow(conn, head_before, logged)
        self.appended += len(accepted)
        # Settle only after commit, so a loser that retries loads the winner's events.
        for command in batch:
            if command.future.done():
                continue
            if command.positions:
                command.future.set_result(command.positions)
            else:
                command.future.set_exception(KeyTaken() if command.taken else VersionConflict())

    async def load(self, funko_id: UUID, upto: int | None = None) -> list[asyncpg.Record]:
        """The stored events of one Funko in version order, up to version ``upto`` if given:
        version, topic, state (JSON text)."""
        return await self._pool.fetch(
            "SELECT version, topic, state::text AS state FROM events"
            " WHERE funko_id = $1 AND version <= $2 ORDER BY version",
            funko_id,
            upto if upto is not None else 2**31 - 1,
        )


async def _versions(conn: Connection, batch: Sequence[Appending]) -> dict[UUID, int]:
    """The current version of each Funko the batch changes. Creates name fresh uuid4s
    (expected 0): they need no lookup, and UNIQUE (funko_id, version) stands behind that."""
    ids = list({c.events[0].funko_id for c in batch if c.expected})
    return {r[0]: r[1] for r in await conn.fetch(VERSIONS, ids)} if ids else {}


async def _taken(conn: Connection, batch: Sequence[Appending]) -> set[tuple[str, str]]:
    """The batch's Idempotency-Keys already recorded. The log head's lock orders appenders, so
    any other transaction that recorded one of them has committed by now, and shows."""
    keyed = [c.key for c in batch if c.key is not None]
    if not keyed:
        return set()
    rows = await conn.fetch(TAKEN, [k.owner for k in keyed], [k.key for k in keyed])
    return {(row[0], row[1]) for row in rows}


def _number(
    batch: Sequence[Appending], versions: dict[UUID, int], taken: set[tuple[str, str]], head: int
) -> list[tuple[int, NewEvent, bytes]]:
    """The accepted commands' events, numbered from ``head``: (position, event, chain body).

    A command is accepted if its Funko is at the version it expects (counting the commands
    accepted before it), the command it follows stands, its Idempotency-Key (if any) made no
    event yet, and its caller has not given up: one answered 503 must not be applied later,
    when the database answers again."""
    accepted: list[tuple[int, NewEvent, bytes]] = []
    for command in batch:
        command.positions, command.taken = [], False  # a retried command starts afresh
        funko_id = command.events[0].funko_id
        if (
            command.future.cancelled()
            or versions.get(funko_id, 0) != command.expected
            or (command.after is not None and not command.after.stands())
        ):
            continue
        if command.key is not None:
            owned = (command.key.owner, command.key.key)
            if owned in taken:
                command.taken = True
                continue
            taken.add(owned)
        versions[funko_id] = command.expected + len(command.events)
        for new, body in zip(command.events, command.bodies, strict=True):
            head += 1
            command.positions.append(head)
            accepted.append((head, new, body))
    return accepted


def _keys(batch: Sequence[Appending]) -> tuple[list[str], list[str], list[bytes], list[int]]:
    """The accepted commands' Idempotency-Keys as columns: owner, key, fingerprint, position."""
    keyed = [(c.key, c.positions[-1]) for c in batch if c.key is not None and c.positions]
    return (
        [k.owner for k, _ in keyed],
        [k.key for k, _ in keyed],
        [k.fingerprint for k, _ in keyed],
        [p for _, p in keyed],
    )


async def _head_and_tip(conn: Connection) -> tuple[int, bytes]:
    """The newest position and its hash, locked until commit (see the module docstring)."""
    row = await conn.fetchrow("SELECT position, hash FROM log_head FOR UPDATE")
    assert row is not None  # migration 0001 inserts the one row; nothing deletes it
    return row[0], row[1]


def _refused(cause: Exception) -> AppendRefused:
    refused = AppendRefused(f"the append failed: {cause!r}")
    refused.__cause__ = cause
    return refused


def _chain(tip: bytes, chained: Sequence[tuple[int, bytes]]) -> list[bytes]:
    """The hashes of consecutive events after the one hashed ``tip``."""
    hashes = []
    for position, body in chained:
        tip = hash_chain.follow(tip, position, body)
        hashes.append(tip)
    return hashes
