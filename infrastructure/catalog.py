"""Queries on the catalog read model (the Catalog port).

A page's total is exact and agrees with its rows: both are read in one repeatable-read snapshot.
Neither costs more as the catalog grows (issue 15):
- the total without filters, or with a category alone, comes from ``catalog_categories`` (a row
  a category, moved by the projection in the transaction that moves the Funkos); other filters
  count their matches through an index (trigram, price, stock), a cost that grows with the
  number of matches, not with the catalog;
- a page is a deferred join: its offset is walked over the sort's index reading ids alone (an
  index-only scan where the visibility map is set, docs/operations.md), then only the page's
  rows are read, by id, in the order the walk gave.

Every query goes through ``ReplicaReads``: to the replica where one is set and holds what the
request must see (DATABASE_REPLICA_URL, X-Min-Position), else to the primary.
"""

from typing import Any
from uuid import UUID

import asyncpg

from domain.ports import SORTABLE, CatalogPage, CatalogQuery, Category, FunkoDocument, SortKey
from domain.rules import category_of, search_key
from infrastructure.replica_reads import ReplicaReads, reading

# Whitelisted, so a sort key never reaches SQL as text from the client.
# Each with an index on (column, id) (migrations 0002 and 0005), read forwards or backwards.
ORDER: dict[SortKey, str] = {
    "id": "id",
    "name": "name_key",
    "price": "price",
    "stock": "stock",
    "category": "category",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}
assert ORDER.keys() == set(SORTABLE), "a sort key without its column (or the reverse)"

PAGE = """
SELECT c.doc::text
FROM unnest(ARRAY({ids})) WITH ORDINALITY AS p(id, place)
JOIN catalog_funkos c ON c.id = p.id
ORDER BY p.place
"""
EVERY_CATEGORY = "SELECT coalesce(sum(count), 0) FROM catalog_categories"
ONE_CATEGORY = "SELECT coalesce((SELECT count FROM catalog_categories WHERE name = $1), 0)"


def _like(text: str) -> str:
    """A LIKE pattern for names holding ``text``, case-folded as name_key is."""
    key = search_key(text)
    escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(query: CatalogQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.format(f"${len(args)}"))

    if query.name is not None:
        add("name_key LIKE {}", _like(query.name))
    if query.category is not None:
        add("category = {}", category_of(query.category))
    if query.min_price is not None:
        add("price >= {}", query.min_price)
    if query.max_price is not None:
        add("price <= {}", query.max_price)
    if query.min_stock is not None:
        add("stock >= {}", query.min_stock)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def count_query(query: CatalogQuery) -> tuple[Any, ...]:
    """The SQL and arguments of the number of Funkos matching ``query``'s filters."""
    if (query.name, query.min_price, query.max_price, query.min_stock) == (None,) * 4:
        if query.category is None:
            return (EVERY_CATEGORY,)
        return ONE_CATEGORY, category_of(query.category)
    where, args = _where(query)
    return f"SELECT count(*) FROM catalog_funkos{where}", *args


def page_ids_query(query: CatalogQuery) -> tuple[Any, ...]:
    """The SQL and arguments of the ids on ``query``'s page, in its order: the walk over the
    offset, which reads nothing but the sort's index when no filter needs a row."""
    where, args = _where(query)
    direction = "DESC" if query.direction == "desc" else "ASC"
    order = f"{ORDER[query.sort_by]} {direction}, id {direction}"
    n = len(args)
    sql = f"SELECT id FROM catalog_funkos{where} ORDER BY {order} LIMIT ${n + 1} OFFSET ${n + 2}"
    return sql, *args, query.size, query.page * query.size


def page_query(query: CatalogQuery) -> tuple[Any, ...]:
    """The SQL and arguments of the documents on ``query``'s page, in its order."""
    ids, *args = page_ids_query(query)
    return PAGE.format(ids=ids), *args


class CatalogReadModel:
    """The catalog as the projection keeps it: documents served as stored."""

    def __init__(self, db: asyncpg.Pool | ReplicaReads) -> None:
        self._reads = reading(db)

    async def find(self, funko_id: UUID) -> FunkoDocument | None:
        row = await self._reads.fetchrow(
            "SELECT version, doc::text FROM catalog_funkos WHERE id = $1", funko_id
        )
        return None if row is None else FunkoDocument(row[0], row[1])

    async def search(self, query: CatalogQuery) -> CatalogPage:
        async def read(pool: asyncpg.Pool) -> CatalogPage:
            async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
                total = await conn.fetchval(*count_query(query))
                rows = await conn.fetch(*page_query(query))
            return CatalogPage([r[0] for r in rows], int(total), query)

        return await self._reads.using(read)

    async def categories(self) -> list[Category]:
        rows = await self._reads.fetch(
            'SELECT name, count FROM catalog_categories ORDER BY name COLLATE "C"'
        )
        return [Category(r["name"], r["count"]) for r in rows]
