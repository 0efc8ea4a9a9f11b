"""Filling a test's database directly, faster than through HTTP."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from domain.services import FunkoService
from infrastructure.catalog import CatalogReadModel
from infrastructure.database import create_pool, migrate
from infrastructure.event_store import EventStore
from infrastructure.funko_repository import EventSourcedFunkos
from infrastructure.projection import CatalogProjection
from infrastructure.subscription import PAGE
from tests.e2e.streams_kit import create_bulky

ENVELOPE = 1300  # bytes, about, of a bulky Funko's event envelope


@asynccontextmanager
async def service_on(url: str) -> AsyncIterator[tuple[asyncpg.Pool, FunkoService]]:
    """The service, as a server builds it, on the (migrated) database ``url``."""
    await migrate(url)
    pool = await create_pool(url, min_size=1, max_size=4)
    try:
        async with EventStore(pool, CatalogProjection()) as store:
            yield pool, FunkoService(EventSourcedFunkos(store), CatalogReadModel(pool))
    finally:
        await pool.close()


def outgrowing_socket_buffers() -> int:
    """Bulky events enough that a server whose socket to a reader is full still has a page of
    the log to read: the kernel lets a socket's send buffer grow to tcp_wmem's maximum."""
    most = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    return (most // ENVELOPE // PAGE + 2) * PAGE


async def seed_bulky(url: str, count: int) -> None:
    """``count`` new Funkos with the longest fields, written straight to the log."""
    async with service_on(url) as (_, service):
        await create_bulky(service, count, burst=250)
