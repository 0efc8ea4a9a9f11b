"""Searching the catalog read model: filters, sorting and paging."""

import json
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from domain.ports import SORTABLE, CatalogQuery, Direction, Recorded, SortKey
from domain.rules import search_key
from domain.services import FunkoService
from infrastructure.catalog import page_ids_query, page_query
from tests.integration.funko_events import new_fields

# name, price, stock, category (a or b)
SHELF = [
    ("Iron Man", "9.99", 3, "a"),
    ("iron monger", "10.00", 0, "b"),
    ("100% Hulk", "25.50", 12, "a"),
    ("1000 Hulk", "10.00", 7, "b"),
    ("Spider_Man", "0.00", 7, "a"),
    ("SpiderXMan", "1000000.00", 1000000, "b"),
    ("Back\\slash", "0.01", 1, "a"),
]


class Shelf:
    """This test's Funkos: names start with a token and categories are its own."""

    def __init__(self) -> None:
        self.token = uuid4().hex[:10]
        self.funkos: dict[str, Recorded] = {}

    def category(self, letter: str) -> str:
        return f"{self.token}-{letter}".upper()

    async def stock(self, service: FunkoService) -> None:
        for name, price, stock, letter in SHELF:
            fields = new_fields(self.category(letter), name=f"{self.token} {name}", stock=stock)
            fields["price"] = Decimal(price)
            funko = await service.create(fields, "alice")
            self.funkos[str(funko.funko_id)] = funko
        # Updated in another order than created, so createdAt and updatedAt sort differently.
        for funko in list(self.funkos.values())[:2]:
            image = {"image": "https://img.example/x.png"}
            amended = await service.amend(funko.funko_id, image, "bob")
            self.funkos[str(amended.funko_id)] = amended

    def names(self, *short: str) -> set[str]:
        return {f"{self.token} {name}" for name in short}


@pytest.fixture
async def shelf(service: FunkoService) -> Shelf:
    shelf = Shelf()
    await shelf.stock(service)
    return shelf


async def names_found(service: FunkoService, query: CatalogQuery) -> set[str]:
    page = await service.search(replace(query, size=100))
    names = {json.loads(doc)["name"] for doc in page.content}
    assert page.total == len(names)
    return names


async def test_name_matches_a_case_insensitive_substring(
    service: FunkoService, shelf: Shelf
) -> None:
    for text in (f"{shelf.token} iron", f"{shelf.token} IRON M".upper()):
        found = await names_found(service, CatalogQuery(name=text))
        assert found == shelf.names("Iron Man", "iron monger")
    assert len(await names_found(service, CatalogQuery(name=shelf.token))) == len(SHELF)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("100%", "100% Hulk"), ("spider_m", "Spider_Man"), ("back\\s", "Back\\slash")],
)
async def test_name_takes_like_wildcards_literally(
    service: FunkoService, shelf: Shelf, text: str, expected: str
) -> None:
    found = await names_found(service, CatalogQuery(name=f"{shelf.token} {text}"))
    assert found == shelf.names(expected)


async def test_category_matches_whole_trimmed_and_case_insensitive(
    service: FunkoService, shelf: Shelf
) -> None:
    category = f"  {shelf.category('a').lower()} "
    found = await names_found(service, CatalogQuery(category=category))
    assert found == shelf.names("Iron Man", "100% Hulk", "Spider_Man", "Back\\slash")
    assert await names_found(service, CatalogQuery(category=shelf.category("a")[:-1])) == set()


async def test_price_bounds_are_inclusive(service: FunkoService, shelf: Shelf) -> None:
    query = CatalogQuery(name=shelf.token, min_price=Decimal("10.00"), max_price=Decimal("25.50"))
    assert await names_found(service, query) == shelf.names("iron monger", "100% Hulk", "1000 Hulk")
    top = CatalogQuery(name=shelf.token, min_price=Decimal("1000000"))
    assert await names_found(service, top) == shelf.names("SpiderXMan")
    free = CatalogQuery(name=shelf.token, max_price=Decimal("0"))
    assert await names_found(service, free) == shelf.names("Spider_Man")


async def test_min_stock_is_inclusive_and_filters_combine(
    service: FunkoService, shelf: Shelf
) -> None:
    query = CatalogQuery(name=shelf.token, min_stock=7)
    assert await names_found(service, query) == shelf.names(
        "100% Hulk", "1000 Hulk", "Spider_Man", "SpiderXMan"
    )
    combined = CatalogQuery(
        name=shelf.token, category=shelf.category("b"), min_stock=7, max_price=Decimal("10")
    )
    assert await names_found(service, combined) == shelf.names("1000 Hulk")


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("sort_by", SORTABLE)
async def test_sorting_by_each_key_pages_through_every_match_once(
    service: FunkoService, shelf: Shelf, sort_by: SortKey, direction: Direction
) -> None:
    funkos = list(shelf.funkos.values())
    expected = sorted(
        funkos, key=lambda f: (sort_key(f, sort_by), f.funko_id), reverse=direction == "desc"
    )
    ids: list[str] = []
    for page in range(3):
        query = CatalogQuery(
            name=shelf.token, sort_by=sort_by, direction=direction, page=page, size=3
        )
        result = await service.search(query)
        assert result.total == len(SHELF)
        assert len(result.content) == min(3, len(SHELF) - 3 * page)
        ids += [json.loads(doc)["id"] for doc in result.content]
    assert ids == [str(f.funko_id) for f in expected]
    past_the_end = CatalogQuery(name=shelf.token, sort_by=sort_by, page=3, size=3)
    assert (await service.search(past_the_end)).content == []


async def test_found_documents_show_the_funko_as_it_stands(
    service: FunkoService, shelf: Shelf
) -> None:
    page = await service.search(CatalogQuery(name=shelf.token, size=100))
    for doc in page.content:
        found = json.loads(doc)
        funko = shelf.funkos[found["id"]]
        assert found == {**funko.funko, "price": float(funko.funko["price"])}


FOLDED = {  # how each is written, and other spellings of it a search must find it by
    "İstanbul": ["İstanbul", "İSTANBUL", "i̇stanbul"],
    "σίσυφος": ["σίσυφος", "ΣΊΣΥΦΟΣ", "Σίσυφος", "σίσυφοσ"],
    "ΣΊΣΥΦΟΣ": ["ΣΊΣΥΦΟΣ", "σίσυφος", "σίσυφοσ"],
    "Straße": ["Straße", "STRASSE", "strasse", "STRAẞE"],
    "Ǆemal": ["Ǆemal", "ǆEMAL", "ǅemal"],
}


async def test_a_name_is_found_by_itself_and_every_case_of_it(service: FunkoService) -> None:
    token = uuid4().hex[:10]
    for name in FOLDED:
        await service.create(new_fields(name=f"{token} {name}"), "alice")
    for name, spellings in FOLDED.items():
        for spelling in spellings:
            found = await names_found(service, CatalogQuery(name=f"{token} {spelling}"))
            assert f"{token} {name}" in found, (name, spelling, found)
    greek = await names_found(service, CatalogQuery(name=f"{token} ΣΊΣΥΦΟΣ"))
    assert greek == {f"{token} σίσυφος", f"{token} ΣΊΣΥΦΟΣ"}
    for part in ("ΣΥΦΟΣ", "σίσ", "ΣΊΣ"):  # a final sigma mid-word is a sigma
        page = await service.search(CatalogQuery(name=part, size=100))
        assert greek <= {json.loads(doc)["name"] for doc in page.content}, part


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("sort_by", SORTABLE)
async def test_every_sort_order_of_the_catalog_is_served_by_an_index(
    pool: asyncpg.Pool, sort_by: SortKey, direction: Direction
) -> None:
    # The walk over the offset; the page's own rows are then read by id and put in its order.
    sql, *args = page_ids_query(CatalogQuery(sort_by=sort_by, direction=direction, page=3))
    async with pool.acquire() as conn, conn.transaction():
        # Sorting and whole-table scans made as dear as possible: only a plan without
        # either shows that an index yields the rows in the order asked.
        await conn.execute("SET LOCAL enable_sort = off; SET LOCAL enable_seqscan = off")
        plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    nodes = set(re.findall(r'"Node Type": "([^"]+)"', plan))
    assert not nodes & {"Sort", "Incremental Sort", "Seq Scan"}, (sql, nodes)


async def test_a_name_search_is_served_by_the_trigram_index_where_there_is_pg_trgm(
    pool: asyncpg.Pool,
) -> None:
    # Which plan wins depends on how rare the substring is; with scans of the whole table or
    # of a whole B-tree priced out, the trigram index must be there to serve it.
    sql, *args = page_query(CatalogQuery(name="ghost"))
    count = "SELECT count(*) FROM catalog_funkos WHERE name_key LIKE $1"
    trigrams = "SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_trgm')"
    async with pool.acquire() as conn, conn.transaction():
        available = await conn.fetchval(trigrams)
        await conn.execute(
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off;"
            " SET LOCAL enable_indexonlyscan = off"
        )
        plans = [
            await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args),
            await conn.fetchval(f"EXPLAIN (FORMAT JSON) {count}", args[0]),
        ]
    for plan in plans:  # without pg_trgm (the embedded server), searches scan as before
        assert ('"catalog_funkos_name_trigrams"' in plan) == available, plan


def sort_key(funko: Recorded, key: str) -> Any:
    value = funko.funko[key]
    return search_key(value) if key == "name" else value
