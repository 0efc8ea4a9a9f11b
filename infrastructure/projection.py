"""The catalog projection: the read model (Funkos, categories) kept from the log.

It moves inside the append transaction (event_store.py: append_batch folds each batch with
``catalog_apply``, migration 0007), so the read model, its tracked position and the events
commit together: exactly once, and a write is visible to the very next read on any process.
``catch_up`` folds the log into it from its tracked position with that same ``catalog_apply``.
A fold from the start into empty tables (``rebuild``, ``verify``'s fresh fold, ``restore``)
needs no event but each Funko's last: ``fold_from_start`` takes those in one statement, so
it costs a sort of the log, not a round of upserts per page. ``verify`` compares that fold
with the one kept event by event, so the two are held to agreement on every database checked.
Names are keyed for search in Python (``name_key``): PostgreSQL's lower() is not Unicode case
folding; it agrees only on ASCII, where the fold from the start uses it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from uuid import UUID

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
# Each Funko's last event up to $1, if it leaves the Funko in the catalog. Within a Funko,
# versions follow positions, so its (funko_id, version) index hands them over in order.
FOLD_FROM_START = """
INSERT INTO catalog_funkos
    (id, name, price, stock, image, category, version, created_at, updated_at, doc, name_key)
SELECT f.id, f.name, f.price, f.stock, f.image, f.category, f.version, f."createdAt",
       f."updatedAt", l.data,
       CASE WHEN f.name ~ '^[\x01-\x7f]*$' THEN lower(f.name COLLATE "C") END
FROM (SELECT DISTINCT ON (funko_id) type, data FROM events WHERE position <= $1
      ORDER BY funko_id, version DESC) l,
     json_to_record(l.data) AS f(id uuid, name text, price numeric, stock int, image text,
                                 category text, version int, "createdAt" timestamptz,
                                 "updatedAt" timestamptz)
WHERE l.type <> 'DELETE'
"""
SORTING_MEMORY = "SET LOCAL work_mem = '256MB'"
COUNT_CATEGORIES = """
INSERT INTO catalog_categories (name, count)
SELECT category, count(*) FROM catalog_funkos GROUP BY category
"""
UNKEYED = """
SELECT id, name FROM catalog_funkos WHERE name_key IS NULL AND id > $1 ORDER BY id LIMIT $2
"""
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
        async with pool.acquire() as conn:
            async with conn.transaction():
                head = await conn.fetchval("SELECT position FROM log_head FOR UPDATE")
                await conn.execute("TRUNCATE catalog_funkos, catalog_categories")
                await self.fold_from_start(conn, head, progress)
                await self._track(conn, head)
            await self.tidy(conn)
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

    async def fold_from_start(
        self, conn: Connection, upto: int, progress: Progress | None = None
    ) -> None:
        """Fold the events up to ``upto`` into the empty catalog tables ``conn`` resolves, in
        the transaction under way."""
        await conn.execute(SORTING_MEMORY)  # the log's sort, in memory where it fits
        await conn.execute(FOLD_FROM_START, upto)
        await _key_unkeyed(conn)
        await conn.execute(COUNT_CATEGORIES)
        if progress is not None:
            progress(upto, upto)

    @staticmethod
    async def tidy(conn: Connection) -> None:
        """After a fold from the start: the planner's statistics, the visibility map that the
        catalog's index-only walks need, the trigram index's pending list merged. Outside
        any transaction (VACUUM runs in none)."""
        await conn.execute("VACUUM (ANALYZE) catalog_funkos")
        await conn.execute("ANALYZE catalog_categories")

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
    """Give rows without a name_key (written before migration 0005, or folded from the start
    with a name that is not ASCII) theirs: one pass in id order."""
    after = UUID(int=0)
    while rows := await conn.fetch(UNKEYED, after, PAGE):
        keys = [search_key(row["name"]) for row in rows]
        await conn.execute(KEY, [row["id"] for row in rows], keys)
        after = rows[-1]["id"]


@asynccontextmanager
async def _connection(db: asyncpg.Pool | Connection) -> AsyncIterator[Connection]:
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            yield conn
    else:
        yield db
