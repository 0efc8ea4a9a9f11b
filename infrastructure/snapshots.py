"""Snapshots of Funkos (migration 0010): loading a Funko reads a bounded number of rows.

Invariant: a snapshot at version v is the Funko exactly as the fold of its committed events
1..v leaves it, so starting a fold from it gives what the full fold gives. It holds because a
snapshot is only ever taken of a Funko folded from rows read back from the log (committed
events, or a snapshot that held the invariant) at the moment its version was v, and because
the log is append-only: events 1..v never change. Snapshots are a cache: without them every
answer is the same, only slower.

``load`` reads, in one statement (one round trip), the newest snapshot at or below the version
asked for and the events after it up to that version. The repository folds them, and when the
fold passed a multiple of ``interval`` beyond the snapshot it started from, it hands a snapshot
of that state to ``keep``, which writes it in the background: the load that triggers it does
not wait, and a Funko with fewer than ``interval`` events never writes one. A load so folds
the events since the last multiple of ``interval`` that a load passed: about ``interval`` at
most while every change loads its Funko (the change lines keep a Funko loaded only while its
changes keep queueing; the load after such a run may fold more, and snapshots it).

A load at a version (a Funko as it stood then: the auditors' route) reads through the replica
where one is set: events up to a version never change, so any copy holding them will do. A load
of the newest version (a command's) reads the primary, which alone is sure to have it.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from types import TracebackType
from typing import Self
from uuid import UUID

import asyncpg
from eventsourcing.persistence import StoredEvent

from infrastructure.database import UNAVAILABLE
from infrastructure.replica_reads import ReplicaReads

INTERVAL = 100  # events between snapshots
NEWEST = 2**31 - 1  # above any version
log = logging.getLogger(__name__)

# The snapshot row first (if any), then the events after it: ordered by version, as they fold.
LOAD = """
WITH snapshot AS MATERIALIZED (
    SELECT version, topic, state::text AS state FROM snapshots
    WHERE funko_id = $1 AND version <= $2
    ORDER BY version DESC LIMIT 1
)
SELECT version, topic, state FROM snapshot
UNION ALL
SELECT version, topic, state::text FROM events
WHERE funko_id = $1 AND version <= $2
  AND version > coalesce((SELECT version FROM snapshot), 0)
ORDER BY version
"""
KEEP = """
INSERT INTO snapshots (funko_id, version, topic, state) VALUES ($1, $2, $3, $4)
ON CONFLICT (funko_id, version) DO NOTHING
"""


class Snapshots:
    """Funkos' snapshots: read with the events after them, written in the background.

    Use as ``async with``: leaving waits for the writes under way.
    """

    def __init__(
        self, pool: asyncpg.Pool, interval: int = INTERVAL, reads: ReplicaReads | None = None
    ) -> None:
        if interval < 1:
            raise ValueError(f"a snapshot interval must be positive, not {interval}")
        self._pool = pool
        self._reads = reads
        self.interval = interval
        self._writing: dict[tuple[UUID | str, int], asyncio.Task[None]] = {}
        self._closing = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        if self._writing:
            await asyncio.wait(list(self._writing.values()))

    async def load(self, funko_id: UUID, upto: int | None = None) -> list[asyncpg.Record]:
        """The newest snapshot of a Funko at or below version ``upto`` (if any), then its
        events after that snapshot up to ``upto``, in version order: version, topic, state
        (JSON text). Without ``upto``, up to its newest event."""
        if upto is None:
            return await self._pool.fetch(LOAD, funko_id, NEWEST)
        return await (self._reads or self._pool).fetch(LOAD, funko_id, upto)

    def keep(self, snapshot: StoredEvent) -> None:
        """Write ``snapshot`` (a Snapshot as the Mapper stores it) in the background, unless
        it is being written already or the snapshots are closing."""
        key = (snapshot.originator_id, snapshot.originator_version)
        if self._closing or key in self._writing:
            return
        task = asyncio.create_task(self._write(snapshot), name="snapshot-writer")
        self._writing[key] = task
        task.add_done_callback(partial(self._written, key))

    async def _write(self, snapshot: StoredEvent) -> None:
        try:
            await self._pool.execute(
                KEEP,
                snapshot.originator_id,
                snapshot.originator_version,
                snapshot.topic,
                snapshot.state.decode(),
            )
        except UNAVAILABLE as error:  # a later load takes it again
            log.warning("snapshot of %s not kept: %s", snapshot.originator_id, error)

    def _written(self, key: tuple[UUID | str, int], task: asyncio.Task[None]) -> None:
        del self._writing[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("snapshot of %s refused", key[0], exc_info=task.exception())
