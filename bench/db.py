"""A throwaway database on DATABASE_URL's server (or the embedded one), dropped at the end."""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from infrastructure.database import create_database, drop_database, embedded_url, migrate


@asynccontextmanager
async def throwaway_database() -> AsyncIterator[str]:
    """Create and migrate a fresh database; yield its URL; drop it even on failure."""
    server = os.environ.get("DATABASE_URL") or ""
    if not server:
        server = await asyncio.to_thread(embedded_url)
    url = await create_database(server, "funko_bench")
    try:
        await migrate(url)
        yield url
    finally:
        await drop_database(server, url)


async def count_events(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()
