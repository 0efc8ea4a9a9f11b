"""Throwaway databases: a session, a module or a test that needs a database of its own gets
one under a fresh name on the server it names, and drops it (whoever is still on it) at the end.

Empty unless ``migrated``: ``run.py serve`` and ``bootstrap.running`` migrate what they are given.
"""

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from infrastructure.database import MIGRATIONS, create_database, drop_database, migrate


async def create(server_url: str, purpose: str, *, migrated: bool = False) -> str:
    """A new database ``funko_<purpose>_<random>`` on ``server_url``'s server; its URL."""
    url = await create_database(server_url, f"funko_{purpose}")
    if migrated:
        await migrate(url)
    return url


@asynccontextmanager
async def throwaway(server_url: str, purpose: str, *, migrated: bool = False) -> AsyncIterator[str]:
    """A database (see ``create``) for the block, dropped when it ends."""
    url = await create(server_url, purpose, migrated=migrated)
    try:
        yield url
    finally:
        await drop_database(server_url, url)


@contextmanager
def for_the_session(server_url: str) -> Iterator[str]:
    """A migrated database for the whole session, made and dropped outside any test's event
    loop (each test runs on a loop of its own)."""
    url = asyncio.run(create(server_url, "test", migrated=True))
    try:
        yield url
    finally:
        asyncio.run(drop_database(server_url, url))


def migrations_upto(directory: Path, last: str) -> Path:
    """``directory`` holding copies of the migrations up to ``last`` (its number) only: migrate
    to it to have the schema as it stood then."""
    directory.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name[:4] <= last:
            shutil.copy(path, directory)
    return directory
