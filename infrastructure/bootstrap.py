"""The one composition root: the running service, built from Settings.

Each part opens as an async context manager and closes at its end, so the web app (one cleanup
context each), run.py, the tests and the bench build the service the same way:

- ``with_database``: the settings naming the database (DATABASE_URL, or the embedded one);
- ``database``: its pool, once migrations are applied and the read model caught up;
- ``running``: the pool with the event store and its projection, the Funkos' snapshots, the
  service over them, and the readers of the log (auditors', and its status for health and
  metrics); with a replica's URL, a pool of the replica too, and every read that may use it
  going through ``ReplicaReads`` (infrastructure/replica_reads.py);
- ``log_reader``: the one reader per process that wakes the change stream.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from domain.services import FunkoService
from infrastructure.audit_log import AuditLog
from infrastructure.catalog import CatalogReadModel
from infrastructure.database import create_pool, embedded_url, migrate
from infrastructure.event_store import EventStore
from infrastructure.funko_repository import EventSourcedFunkos
from infrastructure.idempotency_keys import IdempotencyKeys
from infrastructure.log_reader import LogReader
from infrastructure.log_status import LogStatus
from infrastructure.projection import CatalogProjection
from infrastructure.replica_reads import ReplicaReads, watched
from infrastructure.settings import Settings
from infrastructure.snapshots import Snapshots

POOL_CLOSE_TIMEOUT = 5.0  # a connection stuck on a dead server must not hold a shutdown up


def with_database(settings: Settings) -> Settings:
    """``settings`` naming a database: DATABASE_URL's, or the embedded PostgreSQL's (started
    under .data/ if it is not running yet)."""
    if settings.database_url:
        return settings
    return dataclasses.replace(settings, database_url=embedded_url())


@asynccontextmanager
async def database(url: str, **pool_options: Any) -> AsyncIterator[asyncpg.Pool]:
    """The pool of the database at ``url``, migrated, its read model caught up with the log."""
    await migrate(url)
    pool = await create_pool(url, **pool_options)
    try:
        await CatalogProjection().catch_up(pool)
        yield pool
    finally:
        await _close(pool)


async def _close(pool: asyncpg.Pool) -> None:
    try:
        async with asyncio.timeout(POOL_CLOSE_TIMEOUT):
            await pool.close()
    except TimeoutError:
        pool.terminate()


@dataclass(frozen=True)
class Running:
    """The parts of the service while it runs."""

    pool: asyncpg.Pool
    store: EventStore
    service: FunkoService
    audit_log: AuditLog
    status: LogStatus
    keys: IdempotencyKeys
    reads: ReplicaReads  # the replica's pool (if any) and the primary's, chosen per read


@asynccontextmanager
async def replica(url: str | None, **pool_options: Any) -> AsyncIterator[asyncpg.Pool | None]:
    """A pool of the streaming replica at ``url`` (None without one). It opens no connection
    until a read needs one, so a replica that is down does not keep the service from starting;
    it is never migrated (a standby refuses writes: the primary's migrations reach it by
    replication)."""
    if url is None:
        yield None
        return
    options = {**pool_options, "min_size": 0}
    pool = await create_pool(url, **options)
    try:
        yield pool
    finally:
        await _close(pool)


@asynccontextmanager
async def running(
    url: str, replica_url: str | None = None, **pool_options: Any
) -> AsyncIterator[Running]:
    """The service on the database at ``url``: writes group-committed with the catalog's
    projection in their transaction, reads from the read model and the log (the replica's at
    ``replica_url`` where it holds what a read must see); Funkos loaded from their snapshots."""
    async with (
        database(url, **pool_options) as pool,
        replica(replica_url, **pool_options) as replica_pool,
        watched(ReplicaReads(pool, replica_pool)) as reads,
        EventStore(pool) as store,
        Snapshots(pool, reads=reads) as snapshots,
    ):
        funkos = EventSourcedFunkos(store, snapshots)
        service = FunkoService(funkos, CatalogReadModel(reads))
        audit_log, status, keys = AuditLog(reads), LogStatus(pool), IdempotencyKeys(pool)
        yield Running(pool, store, service, audit_log, status, keys, reads)


@asynccontextmanager
async def log_reader(url: str, reads: ReplicaReads) -> AsyncIterator[LogReader]:
    """This process's reader of the log, woken by LISTEN on a connection of its own (to the
    primary, at ``url``), reading through ``reads``."""
    async with LogReader(url, reads) as reader:
        yield reader
