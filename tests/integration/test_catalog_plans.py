"""The catalog's queries are served by indexes, as the planner chooses them on its own.

On a few thousand rows with the statistics and the visibility map fresh (VACUUM ANALYZE, as
autovacuum leaves a table in time): no query reads catalog_funkos from end to end, totals
without a filter other than a category do not read it at all, and the walk over a page's offset
reads nothing but an index. Nothing is priced out. After ANALYZE alone, two kinds still need
the VACUUM: deep pages (with no page known all-visible, an index-only walk is priced as a row
read per entry, and a scan and sort of the whole table looks cheaper) and the name search (a
GIN index takes bulk inserts into a pending list that VACUUM merges; until then a scan looks
cheaper on so small a table).
"""

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from domain.ports import SORTABLE, CatalogQuery, Direction, SortKey
from infrastructure.catalog import count_query, page_ids_query, page_query
from tests.support import databases
from tests.support.catalog_rows import CATEGORIES, fill_catalog

pytestmark = pytest.mark.asyncio(loop_scope="module")
FUNKOS = 5000
TRIGRAMS = "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_trgm')"
CATEGORY = CatalogQuery(category="shelf 07")
PRICES = CatalogQuery(min_price=Decimal("10"), max_price=Decimal("20"))
STOCK = CatalogQuery(min_stock=990)
BOTH = CatalogQuery(category="Shelf 03", max_price=Decimal("100"), sort_by="stock")
DEEP = {
    "by name": CatalogQuery(page=300),
    "by price": CatalogQuery(page=300, sort_by="price", direction="desc"),
    "of a category": CatalogQuery(category="shelf 07", page=20),
}
NAMED = CatalogQuery(name="Zebracorn")
# Each total, and whether it reads catalog_funkos at all (a category's, or the whole
# catalog's, is read from catalog_categories).
TOTALS = {"all": (CatalogQuery(), False), "category": (CATEGORY, False)}
TOTALS |= {"prices": (PRICES, True), "stock": (STOCK, True), "category and price": (BOTH, True)}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shop(server_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A database of its own holding FUNKOS Funkos, vacuumed and analysed."""
    async with databases.throwaway(server_url, "plans", migrated=True) as url:
        conn = await asyncpg.connect(url)
        try:
            await fill_catalog(conn, FUNKOS)
            await conn.execute("VACUUM ANALYZE catalog_funkos")
            yield conn
        finally:
            await conn.close()


async def plan_of(conn: asyncpg.Connection, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Every node of the plan the planner picks for ``sql``."""
    plan = json.loads(await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args))[0]["Plan"]
    nodes, todo = [], [plan]
    while todo:
        node = todo.pop()
        nodes.append(node)
        todo += node.get("Plans", [])
    return nodes


def reads_of_the_catalog(nodes: list[dict[str, Any]]) -> set[str]:
    """How the plan reads catalog_funkos: the scans' types and the indexes they use."""
    return {
        f"{node['Node Type']} {node.get('Index Name', '')}".strip()
        for node in nodes
        if node.get("Relation Name") == "catalog_funkos"
        or "catalog_funkos" in node.get("Index Name", "")
    }


def assert_no_scan_of_the_whole_catalog(nodes: list[dict[str, Any]]) -> None:
    reads = reads_of_the_catalog(nodes)
    assert reads, "the plan does not read the catalog"
    assert "Seq Scan" not in reads, reads


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("sort_by", SORTABLE)
async def test_each_sort_orders_first_page_walks_its_index_alone(
    shop: asyncpg.Connection, sort_by: SortKey, direction: Direction
) -> None:
    query = CatalogQuery(sort_by=sort_by, direction=direction)
    walk = reads_of_the_catalog(await plan_of(shop, *page_ids_query(query)))
    assert len(walk) == 1 and walk.pop().startswith("Index Only Scan"), walk
    assert_no_scan_of_the_whole_catalog(await plan_of(shop, *page_query(query)))


@pytest.mark.parametrize("query", [CATEGORY, PRICES, STOCK, BOTH, *DEEP.values()])
async def test_filtered_and_deep_pages_use_indexes(
    shop: asyncpg.Connection, query: CatalogQuery
) -> None:
    assert_no_scan_of_the_whole_catalog(await plan_of(shop, *page_query(query)))


@pytest.mark.parametrize("label", DEEP)
async def test_a_deep_page_walks_its_offset_over_an_index_alone(
    shop: asyncpg.Connection, label: str
) -> None:
    walk = reads_of_the_catalog(await plan_of(shop, *page_ids_query(DEEP[label])))
    assert len(walk) == 1 and walk.pop().startswith("Index Only Scan"), walk


@pytest.mark.parametrize("label", TOTALS)
async def test_totals_use_indexes_or_only_the_category_counts(
    shop: asyncpg.Connection, label: str
) -> None:
    query, reads_the_catalog = TOTALS[label]
    nodes = await plan_of(shop, *count_query(query))
    if reads_the_catalog:
        assert_no_scan_of_the_whole_catalog(nodes)
    else:
        assert reads_of_the_catalog(nodes) == set(), nodes


async def test_totals_from_the_category_counts_are_exact(shop: asyncpg.Connection) -> None:
    assert await shop.fetchval(*count_query(CatalogQuery())) == FUNKOS
    assert await shop.fetchval(*count_query(CATEGORY)) == FUNKOS // CATEGORIES
    assert await shop.fetchval(*count_query(CatalogQuery(category="nowhere"))) == 0


async def test_a_name_search_and_its_total_use_the_trigram_index_where_there_is_pg_trgm(
    shop: asyncpg.Connection,
) -> None:
    available = await shop.fetchval(TRIGRAMS)
    for sql, *args in (page_query(NAMED), count_query(NAMED)):
        reads = reads_of_the_catalog(await plan_of(shop, sql, *args))
        # Without pg_trgm (the embedded server) a substring has no index: it scans as before.
        assert ("Bitmap Index Scan catalog_funkos_name_trigrams" in reads) == available, reads
        if available:
            assert "Seq Scan" not in reads, reads
