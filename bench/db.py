"""A throwaway database on DATABASE_URL's server (or the embedded one), dropped at the end."""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from infrastructure.bootstrap import with_database
from infrastructure.database import create_database, drop_database, migrate
from infrastructure.settings import Settings


@asynccontextmanager
async def throwaway_database() -> AsyncIterator[str]:
    """Create and migrate a fresh database; yield its URL; drop it even on failure."""
    settings = Settings(database_url=os.environ.get("DATABASE_URL") or None)
    server = (await asyncio.to_thread(with_database, settings)).url
    url = await create_database(server, "funko_bench")
    try:
        await migrate(url)
        yield url
    finally:
        await drop_database(server, url)


async def count_rows(url: str, table: str) -> int:
    """How many rows ``table`` (a name the bench writes) holds."""
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await conn.close()


async def count_events(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()


async def log_head(url: str) -> int:
    """The log's last position (0 when empty)."""
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT position FROM log_head"))
    finally:
        await conn.close()


async def positions_after(url: str, after: int) -> list[int]:
    """The log's positions after ``after``, in order: what every subscriber must get."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT position FROM events WHERE position > $1 ORDER BY position", after
        )
    finally:
        await conn.close()
    return [int(r[0]) for r in rows]
