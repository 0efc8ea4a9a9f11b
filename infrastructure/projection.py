"""The catalog projection: the read model (Funkos, categories) kept from the log.

It moves inside the append transaction (event_store.py: append_batch folds each batch with
``catalog_apply``, migration 0007), so the read model, its tracked position and the events
commit together: exactly once, and a write is visible to the very next read on any process.
``catch_up`` and ``rebuild`` fold the log into it, from its tracked position or from zero, with
that same ``catalog_apply``: one fold, whichever way events reach it. Names are keyed for
search here, in Python (``name_key``): PostgreSQL's lower() is not Unicode case folding.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import asyncpg
import orjson

from domain.rules import search_key
from infrastructure.database import Connection

NAME = "catalog"
PAGE = 2000
APPLY = "SELECT catalog_apply($1::bigint[], $2::uuid[], $3::text[], $4::json[], $5::text[])"
LOGGED = """
SELECT position, funko_id, type, data::text AS data
FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3
"""
UNKEYED = "SELECT id, name FROM catalog_funkos WHERE name_key IS NULL LIMIT $1"
KEY = """
UPDATE catalog_funkos c SET name_key = k.key
FROM unnest($1::uuid[], $2::text[]) AS k(id, key) WHERE c.id = k.id
"""
Progress = Callable[[int, int], None]


class CatalogProjection:
    """Folds Funko events into ``catalog_funkos`` and ``catalog_categories``."""

    async def catch_up(
        self, db: asyncpg.Pool | Connection, progress: Progress | None = None
    ) -> int:
        """Fold whatever the read model has not seen yet, and key the rows that a migration
        left without search keys; return the position reached."""
        async with _connection(db) as conn, conn.transaction():
            head = await conn.fetchval("SELECT position FROM log_head FOR UPDATE")
            position = await conn.fetchval(
                "SELECT position FROM projection_positions WHERE name = $1 FOR UPDATE", NAME
            )
            await self.fold(conn, position, head, progress)
            await self._track(conn, head)
            await _key_unkeyed(conn)
            return int(head)

    async def rebuild(self, pool: asyncpg.Pool, progress: Progress | None = None) -> int:
        """Empty the read model and fold the whole log again, writers held off meanwhile."""
        async with pool.acquire() as conn, conn.transaction():
            head = await conn.fetchval("SELECT position FROM log_head FOR UPDATE")
            await conn.execute("TRUNCATE catalog_funkos, catalog_categories")
            await self.fold(conn, 0, head, progress)
            await self._track(conn, head)
            return int(head)

    async def fold(
        self, conn: Connection, after: int, upto: int, progress: Progress | None = None
    ) -> None:
        """Apply the events in (after, upto] to the catalog tables ``conn`` resolves."""
        while after < upto:
            rows = await conn.fetch(LOGGED, after, upto, PAGE)
            if not rows:
                break
            positions, ids, types, data = (list(column) for column in zip(*rows, strict=True))
            await conn.execute(APPLY, positions, ids, types, data, [name_key(d) for d in data])
            after = rows[-1]["position"]
            if progress is not None:
                progress(after, upto)

    @staticmethod
    async def _track(conn: Connection, position: int) -> None:
        await conn.execute(
            "UPDATE projection_positions SET position = $2 WHERE name = $1", NAME, position
        )


def name_key(data: str) -> str:
    """The search key of the Funko an event's data (JSON text) shows."""
    name: str = orjson.loads(data)["name"]
    return search_key(name)


async def _key_unkeyed(conn: Connection) -> None:
    """Give rows without a name_key (written before migration 0005) theirs."""
    while rows := await conn.fetch(UNKEYED, PAGE):
        keys = [search_key(row["name"]) for row in rows]
        await conn.execute(KEY, [row["id"] for row in rows], keys)


@asynccontextmanager
async def _connection(db: asyncpg.Pool | Connection) -> AsyncIterator[Connection]:
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            yield conn
    else:
        yield db
