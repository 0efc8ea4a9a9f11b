"""Reads from a streaming replica, with the primary behind it (DATABASE_REPLICA_URL).

Invariant: a read that must reflect every event up to position P (a GET's X-Min-Position, a
stream woken by the primary's NOTIFY of P) is served by the replica only once the replica's
own ``log_head`` has reached P. The replica replays the primary's commits in their order, and
the head moves in the transaction that logs its events and folds them into the catalog, so a
replica whose head is at P holds every event up to P and the catalog as it stood there.
Otherwise (the replica behind after a short wait, unreachable, or failing the read) the read
goes to the primary: a client sees latency, never an error, never an answer older than P.

Without a position to reach, a read goes to the replica while it is ``usable``: it answered
the last check and its replay trails by at most MAX_LAG seconds. The checks (``watched``) also
give /metrics the replica's lag in positions and seconds.

The position a read must reach is ``position`` where the caller names one (the log reader: the
head the primary notified), else the request's ``MIN_POSITION`` (set from X-Min-Position by the
web layer, 0 without it). Readers (the catalog, the auditors' log, the change stream) query
through ``fetch``/``fetchrow``/``fetchval`` or ``using``, never a pool of their own choosing: a
read the replica fails (gone, restarting, a query cancelled by a conflict with recovery) is
run again on the primary, and reads go there until a check sees the replica answer again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from infrastructure.database import UNAVAILABLE

CHECK_EVERY = 0.5  # seconds between the watcher's looks at the replica
CHECK_BOUND = 1.0  # seconds a look may take before the replica counts as gone
READ_BOUND = 1.0  # seconds a read may take on the replica before it runs on the primary
MAX_LAG = 5.0  # seconds of replay lag past which reads without a position go to the primary
WAIT = (0.002, 0.004, 0.008, 0.016, 0.032)  # pauses before a position read gives up on it
HEAD = "SELECT position FROM log_head"
REPLAYED_AT = """
SELECT position,
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())
       END::float8,
       pg_is_in_recovery()
FROM log_head
"""
# What makes a replica's read worth running again on the primary: the replica unreachable or
# failing, the query cancelled because replay needed what it read (40001), or any refusal of
# the replica's own (not migrated, not a copy of the primary): the primary's answer decides.
REPLICA_FAILED = (*UNAVAILABLE, asyncpg.PostgresError)
# The position the current request's reads must reflect (its X-Min-Position; 0: any).
MIN_POSITION: ContextVar[int] = ContextVar("min_position", default=0)
T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class ReplicaStanding:
    """What the last check saw: whether the replica answered, its head, how far it trails."""

    answered: bool = False
    head: int = 0
    lag_positions: int = 0
    lag_seconds: float = 0.0
    error: str = ""  # why it was last found unusable


@dataclass
class ReadCounts:
    """Reads served so far by each database, for /metrics."""

    replica: int = 0
    primary: int = 0
    fallbacks: int = 0  # reads the replica failed, run again on the primary


class ReplicaReads:
    """Chooses, for each read, the replica or the primary; ``replica`` None reads the primary."""

    def __init__(self, primary: asyncpg.Pool, replica: asyncpg.Pool | None) -> None:
        self.primary, self.replica = primary, replica
        self.standing = ReplicaStanding()
        self.counts = ReadCounts()

    @property
    def usable(self) -> bool:
        standing = self.standing
        return self.replica is not None and standing.answered and standing.lag_seconds <= MAX_LAG

    async def pool_for(self, position: int = 0) -> asyncpg.Pool:
        """The pool to read from so the answer reflects every event up to ``position``."""
        replica = self.replica
        if replica is None or not self.usable:
            return self.primary
        if position <= self.standing.head:
            return replica
        for pause in (0.0, *WAIT):
            await asyncio.sleep(pause)
            if await self._head_reaches(replica, position):
                return replica
        return self.primary

    async def using(self, read: Callable[[asyncpg.Pool], Awaitable[T]], position: int = -1) -> T:
        """``read`` on the pool whose answer reflects ``position`` (default: MIN_POSITION's);
        run again on the primary if the replica fails it."""
        pool = await self.pool_for(MIN_POSITION.get() if position < 0 else position)
        if pool is self.primary:
            self.counts.primary += 1
            return await read(pool)
        try:
            async with asyncio.timeout(READ_BOUND):
                answer = await read(pool)
        except REPLICA_FAILED as error:
            self.failed(error)
            self.counts.fallbacks += 1
            self.counts.primary += 1
            return await read(self.primary)
        self.counts.replica += 1
        return answer

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return await self.using(lambda pool: pool.fetch(query, *args))

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        return await self.using(lambda pool: pool.fetchrow(query, *args))

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self.using(lambda pool: pool.fetchval(query, *args))

    def failed(self, error: BaseException) -> None:
        """A read on the replica failed: reads go to the primary until a check answers."""
        if self.standing.answered:
            log.warning("replica read failed (%s): reading the primary", error)
        self.standing.answered = False
        self.standing.error = str(error) or type(error).__name__

    async def check(self) -> None:
        """Look at the replica (and the primary's head): its standing, for routing and metrics."""
        if self.replica is None:
            return
        try:
            async with asyncio.timeout(CHECK_BOUND):
                row = await self.replica.fetchrow(REPLAYED_AT)
        except REPLICA_FAILED as error:
            self.failed(error)
            return
        assert row is not None  # migrations insert the head's row
        head, seconds, standby = row
        if not standby:  # a writable database is no replica: its log would never move
            self.failed(RuntimeError("DATABASE_REPLICA_URL names a database not in recovery"))
            return
        try:  # the lag in positions, for /metrics only: a primary that does not answer now
            async with asyncio.timeout(CHECK_BOUND):  # leaves it as it was
                behind = max(await self.primary.fetchval(HEAD) - head, 0)
        except UNAVAILABLE:
            behind = self.standing.lag_positions
        if not self.standing.answered:
            log.info("replica answers (head %s, %s s behind): reading it", head, seconds)
        self.standing = ReplicaStanding(True, head, behind, seconds or 0.0)

    async def _head_reaches(self, replica: asyncpg.Pool, position: int) -> bool:
        try:
            async with asyncio.timeout(CHECK_BOUND):
                head: int = await replica.fetchval(HEAD)
        except REPLICA_FAILED as error:
            self.failed(error)
            return False
        self.standing.head = max(self.standing.head, head)
        return head >= position


@asynccontextmanager
async def watched(reads: ReplicaReads) -> AsyncIterator[ReplicaReads]:
    """``reads`` with a task checking its replica every CHECK_EVERY seconds meanwhile."""
    await reads.check()
    if reads.replica is not None and not reads.usable:
        log.warning("replica not usable (%s): reading the primary", reads.standing.error)
    task = asyncio.create_task(_watch(reads), name="replica-watch")
    try:
        yield reads
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _watch(reads: ReplicaReads) -> None:
    while True:
        await asyncio.sleep(CHECK_EVERY)
        await reads.check()


def describe(reads: ReplicaReads) -> dict[str, Any]:
    """The replica's standing as /metrics shows it."""
    standing = reads.standing
    return {
        "configured": reads.replica is not None,
        "reading_replica": reads.usable,
        "lag_positions": standing.lag_positions,
        "lag_seconds": standing.lag_seconds,
        "reads_replica": reads.counts.replica,
        "reads_primary": reads.counts.primary,
        "fallbacks": reads.counts.fallbacks,
    }


def reading(db: asyncpg.Pool | ReplicaReads) -> ReplicaReads:
    """``db`` as reads: a pool alone (no replica) reads the primary."""
    return db if isinstance(db, ReplicaReads) else ReplicaReads(db, None)
