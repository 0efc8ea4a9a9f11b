"""Holding group commits back: with the log head's row lock held, every append waits in the
database (append_batch locks that row first), still in flight in the server."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

# Appends waiting for the log head's lock.
BLOCKED = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%append_batch%'
"""


@asynccontextmanager
async def log_head_held(url: str) -> AsyncIterator[None]:
    """The log head's row lock, held until the block ends (then rolled back): every commit
    waits meanwhile."""
    holder = await asyncpg.connect(url)
    transaction = holder.transaction()
    await transaction.start()
    await holder.execute("SELECT position FROM log_head FOR UPDATE")
    try:
        yield
    finally:
        await transaction.rollback()
        await holder.close()


async def blocked_commit(url: str, within: float = 5) -> None:
    """Wait until an append waits for the log head's lock."""
    watcher = await asyncpg.connect(url)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not await watcher.fetchval(BLOCKED):
            assert loop.time() < deadline, "the write never reached the database"
            await asyncio.sleep(0.02)
    finally:
        await watcher.close()
