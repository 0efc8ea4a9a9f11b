"""The one composition root: the running service, built from Settings.

Each part opens as an async context manager and closes at its end, so the web app (one cleanup
context each), run.py, the tests and the bench build the service the same way:

- ``with_database``: the settings naming the database (DATABASE_URL, or the embedded one);
- ``database``: its pool, once migrations are applied and the read model caught up;
- ``running``: the pool with the event store and its projection, the Funkos' snapshots, the
  service over them, and the readers of the log (auditors', and its status for health and
  metrics);
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


@asynccontextmanager
async def running(url: str, **pool_options: Any) -> AsyncIterator[Running]:
    """The service on the database at ``url``: writes group-committed with the catalog's
    projection in their transaction, reads from the read model and the log; Funkos loaded from
    their snapshots."""
    async with (
        database(url, **pool_options) as pool,
        EventStore(pool) as store,
        Snapshots(pool) as snapshots,
    ):
        funkos = EventSourcedFunkos(store, snapshots)
        service = FunkoService(funkos, CatalogReadModel(pool))
        yield Running(pool, store, service, AuditLog(pool), LogStatus(pool), IdempotencyKeys(pool))


@asynccontextmanager
async def log_reader(url: str, pool: asyncpg.Pool) -> AsyncIterator[LogReader]:
    """This process's reader of the log, woken by LISTEN on a connection of its own."""
    async with LogReader(url, pool) as reader:
        yield reader
