"""The database: where it is (given, or embedded under .data/), its pool, its migrations."""

import logging
from pathlib import Path
from typing import Any, Protocol, TypeAlias
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from infrastructure.settings import DATA_DIR, ROOT

MIGRATIONS = ROOT / "migrations"
# What asyncpg hands out: a plain connection, or a pool's proxy of one.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


class Queries(Protocol):
    """What a read needs: a pool, a connection, or the replica's reads (replica_reads.py)."""

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]: ...

    async def fetchval(self, query: str, *args: Any) -> Any: ...


# The database cannot be reached or cannot take work now (down, restarting, overloaded, a lost
# or hung connection): what every caller treats as "unavailable, try again", not as a bug.
UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,  # 08: the connection failed or was lost
    asyncpg.OperatorInterventionError,  # 57: shut down, starting up, cancelled
    asyncpg.InsufficientResourcesError,  # 53: too many connections, disk full
    asyncpg.ReadOnlySQLTransactionError,  # a standby, before a failover has finished
)
# Any fixed number: the advisory lock that lets one process at a time migrate.
MIGRATION_LOCK = 0x46554E4B4F
log = logging.getLogger(__name__)


def embedded_url(data_dir: Path = DATA_DIR / "pg") -> str:
    """Start (or join) the embedded PostgreSQL under .data/ and return its URL."""
    import pgserver  # only needed when no DATABASE_URL is given

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(  # type: ignore[attr-defined]
        data_dir, cleanup_mode="stop"
    )
    return str(server.get_uri())


async def create_pool(url: str, **options: Any) -> asyncpg.Pool:
    """A pool with the settings every connection of the service uses."""
    options.setdefault("min_size", 2)
    options.setdefault("max_size", 10)
    options.setdefault("command_timeout", 30)
    pool = await asyncpg.create_pool(url, **options)
    assert pool is not None
    return pool


def migration_files(directory: Path) -> list[tuple[str, str]]:
    """The migrations as (file name, SQL), in the order they apply."""
    return [(path.name, path.read_text()) for path in sorted(directory.glob("*.sql"))]


async def migrate(url: str, directory: Path = MIGRATIONS) -> list[str]:
    """Apply each SQL file of ``directory`` not yet applied, in name order; return their names.

    A session advisory lock makes concurrent starters wait for the first one's work.
    """
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        applied = []
        for name, sql in migration_files(directory):
            if name in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            log.info("applied migration %s", name)
            applied.append(name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        await conn.close()


def with_database(url: str, name: str) -> str:
    """The same server URL, naming another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def create_database(server_url: str, prefix: str) -> str:
    """Create an empty database with a random name on ``server_url``'s server; return its URL."""
    name = f"{prefix}_{uuid4().hex[:12]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(server_url, name)


async def drop_database(server_url: str, url: str) -> None:
    """Drop the database ``url`` names, disconnecting whoever is still on it."""
    name = urlsplit(url).path.lstrip("/").replace('"', '""')
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
