"""The catalog projection: the read model (Funkos, categories) kept from the log.

It moves inside the append transaction (see event_store.py), so the read model, its
tracked position and the events commit together: exactly once, and a write is visible
to the very next read on any process. ``catch_up`` and ``rebuild`` fold the log into it
from its tracked position, or from zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg
import orjson

from domain.funko import EventType
from domain.rules import search_key
from infrastructure.database import Connection
from infrastructure.events import LoggedEvent

NAME = "catalog"
PAGE = 2000
# One statement for the whole batch: live Funkos upserted, deleted ones removed (never the
# same row twice), category counts moved by their deltas.
APPLY = """
WITH upserted AS (
    INSERT INTO catalog_funkos
        (id, name, price, stock, image, category, version, created_at, updated_at, doc,
         name_key)
    SELECT f.id, f.name, f.price, f.stock, f.image, f.category, f.version, f."createdAt",
           f."updatedAt", u.d, u.k
    FROM unnest($1::json[], $5::text[]) AS u(d, k),
         json_to_record(u.d) AS f(id uuid, name text, price numeric, stock int, image text,
                                  category text, version int, "createdAt" timestamptz,
                                  "updatedAt" timestamptz)
    ON CONFLICT (id) DO UPDATE SET
        name = excluded.name, price = excluded.price, stock = excluded.stock,
        image = excluded.image, category = excluded.category, version = excluded.version,
        created_at = excluded.created_at, updated_at = excluded.updated_at, doc = excluded.doc,
        name_key = excluded.name_key
), removed AS (
    DELETE FROM catalog_funkos WHERE id = ANY($2::uuid[])
), counted AS (
    INSERT INTO catalog_categories (name, count) SELECT * FROM unnest($3::text[], $4::int[])
    ON CONFLICT (name) DO UPDATE SET count = catalog_categories.count + excluded.count
)
SELECT 1
"""
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

    async def follow(self, conn: Connection, head_before: int, new: Sequence[LoggedEvent]) -> None:
        """Apply ``new`` in the caller's transaction, which holds the log head's lock."""
        moved = await conn.fetchval(
            "UPDATE projection_positions SET position = $2 WHERE name = $1 AND position = $3"
            " RETURNING true",
            NAME,
            new[-1].position,
            head_before,
        )
        if not moved:  # behind (e.g. a fresh projection): fold the gap first
            position = await conn.fetchval(
                "SELECT position FROM projection_positions WHERE name = $1 FOR UPDATE", NAME
            )
            await self.fold(conn, position, head_before)
            await self._track(conn, new[-1].position)
        await self._apply(conn, new)

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
            await self._apply(conn, [LoggedEvent(*row) for row in rows])
            after = rows[-1]["position"]
            if progress is not None:
                progress(after, upto)

    async def _apply(self, conn: Connection, events: Sequence[LoggedEvent]) -> None:
        latest: dict[UUID, LoggedEvent] = {e.funko_id: e for e in events}
        # A Funko whose first event here is its CREATE has no row yet: no need to look.
        seen = {e.funko_id for e in events if e.type == EventType.CREATE}
        known = [funko_id for funko_id in latest if funko_id not in seen]
        before: dict[UUID, str] = {}
        if known:
            rows = await conn.fetch(
                "SELECT id, category FROM catalog_funkos WHERE id = ANY($1::uuid[])", known
            )
            before = {row["id"]: row["category"] for row in rows}
        live = [e for e in latest.values() if e.type != EventType.DELETE]
        gone = [e.funko_id for e in latest.values() if e.type == EventType.DELETE]
        now = [orjson.loads(e.data) for e in live]  # each live Funko as its last event left it
        counts: Counter[str] = Counter(funko["category"] for funko in now)
        counts.subtract(before.values())
        changed = {name: n for name, n in counts.items() if n}
        await conn.execute(
            APPLY,
            [e.data for e in live],
            gone,
            list(changed),
            list(changed.values()),
            [search_key(funko["name"]) for funko in now],
        )
        # Rows a count reached 0 in: the statement above cannot see its own upsert.
        shrunk = [name for name, n in changed.items() if n < 0]
        if shrunk:
            await conn.execute(
                "DELETE FROM catalog_categories WHERE name = ANY($1::text[]) AND count <= 0",
                shrunk,
            )

    @staticmethod
    async def _track(conn: Connection, position: int) -> None:
        await conn.execute(
            "UPDATE projection_positions SET position = $2 WHERE name = $1", NAME, position
        )


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
