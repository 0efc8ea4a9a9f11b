"""The catalog read model: kept in step with the log, and rebuilt or caught up from it."""

import json
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from domain.funko import FunkoNotFound
from domain.ports import CatalogQuery
from domain.services import FunkoService
from infrastructure.envelopes import head as log_head
from infrastructure.event_store import EventStore
from infrastructure.projection import CatalogProjection
from tests.integration.funko_events import NAMES, new_fields
from tests.support.contract import FUNKO_KEYS
from tests.support.shop import unique

Rows = list[tuple[Any, ...]]


async def counts_of(pool: asyncpg.Pool, *categories: str) -> dict[str, int]:
    rows = await pool.fetch(
        "SELECT name, count FROM catalog_categories WHERE name = ANY($1::text[])", list(categories)
    )
    return {r["name"]: r["count"] for r in rows}


async def row_of(pool: asyncpg.Pool, funko_id: Any) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT * FROM catalog_funkos WHERE id = $1", funko_id)


async def read_model(pool: asyncpg.Pool) -> tuple[Rows, Rows]:
    """Every read-model row, documents as the text they are served as."""
    funkos = await pool.fetch(
        "SELECT id, name, price, stock, image, category, version, created_at, updated_at,"
        " doc::text, name_key FROM catalog_funkos ORDER BY id"
    )
    categories = await pool.fetch("SELECT name, count FROM catalog_categories ORDER BY name")
    return [tuple(r) for r in funkos], [tuple(r) for r in categories]


async def projection_position(pool: asyncpg.Pool) -> int:
    sql = "SELECT position FROM projection_positions WHERE name = 'catalog'"
    return int(await pool.fetchval(sql))


async def test_the_read_model_follows_create_update_and_delete(
    service: FunkoService, pool: asyncpg.Pool
) -> None:
    first_category, second_category = unique("cat").upper(), unique("cat").upper()
    first = await service.create(new_fields(first_category, price=Decimal("9.99")), "alice")
    second = await service.create(new_fields(first_category), "alice")
    assert await counts_of(pool, first_category) == {first_category: 2}
    document = await service.get(first.funko_id)
    assert document.version == 1
    assert json.loads(document.json) == {**first.funko, "price": 9.99}
    assert list(json.loads(document.json)) == FUNKO_KEYS

    await service.amend(first.funko_id, {"category": second_category, "stock": 8}, "bob")
    row = await row_of(pool, first.funko_id)
    assert row is not None
    assert (row["category"], row["stock"], row["version"]) == (second_category, 8, 2)
    assert row["price"] == Decimal("9.99")
    assert await counts_of(pool, first_category, second_category) == {
        first_category: 1,
        second_category: 1,
    }

    await service.delete(first.funko_id, "carol")
    assert await row_of(pool, first.funko_id) is None
    assert await counts_of(pool, first_category, second_category) == {first_category: 1}
    with pytest.raises(FunkoNotFound):
        await service.get(first.funko_id)

    await service.delete(second.funko_id, "carol")
    assert await counts_of(pool, first_category, second_category) == {}


async def history(service: FunkoService, category: str) -> None:
    """Creates, updates (one moving category) and a delete, all in ``category``."""
    funkos = [await service.create(new_fields(category), "alice") for _ in range(4)]
    await service.amend(funkos[0].funko_id, {"stock": 7, "price": Decimal("0.10")}, "bob")
    await service.amend(funkos[1].funko_id, {"category": f"{category}-MOVED"}, "bob")
    replacement = new_fields(category, image="http://x.io/a.png")
    await service.replace(funkos[2].funko_id, replacement, "bob")
    await service.delete(funkos[3].funko_id, "carol")


async def test_rebuilding_leaves_the_read_model_as_it_was(
    service: FunkoService, pool: asyncpg.Pool, store: EventStore
) -> None:
    await history(service, unique("cat").upper())
    for name in [*NAMES, "ΣΊΣΥΦΟΣ", "Mixed CASE [ascii] ~", "İstanbul"]:  # keyed in SQL or not
        await service.create(new_fields(name=name), "alice")
    before = await read_model(pool)

    assert await CatalogProjection().rebuild(pool) == await log_head(pool)

    assert await read_model(pool) == before
    assert await projection_position(pool) == await log_head(pool)


async def forget(pool: asyncpg.Pool, categories: list[str], position: int) -> None:
    """Lose the read model's rows of ``categories`` and move its position back to ``position``."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT position FROM log_head FOR UPDATE")
        await conn.execute("DELETE FROM catalog_funkos WHERE category = ANY($1)", categories)
        await conn.execute("DELETE FROM catalog_categories WHERE name = ANY($1)", categories)
        await conn.execute(
            "UPDATE projection_positions SET position = $1 WHERE name = 'catalog'", position
        )


async def test_catching_up_restores_what_the_read_model_lost(
    service: FunkoService, pool: asyncpg.Pool, store: EventStore
) -> None:
    category = unique("cat").upper()
    start = await log_head(pool)
    await history(service, category)
    before = await read_model(pool)
    await forget(pool, [category, f"{category}-MOVED"], start)
    assert await counts_of(pool, category) == {}

    assert await CatalogProjection().catch_up(pool) == await log_head(pool)

    assert await read_model(pool) == before
    assert await projection_position(pool) == await log_head(pool)


KEYS = "SELECT name_key FROM catalog_funkos WHERE id = ANY($1) ORDER BY id"


async def test_catching_up_keys_the_rows_written_before_names_had_search_keys(
    service: FunkoService, pool: asyncpg.Pool
) -> None:
    names = [f"{unique('Keyless')} ΣΊΣΥΦΟΣ {n}" for n in range(3)]
    ids = [(await service.create(new_fields(name=name), "alice")).funko_id for name in names]
    keys = await pool.fetch(KEYS, ids)
    await pool.execute("UPDATE catalog_funkos SET name_key = NULL WHERE id = ANY($1)", ids)
    found = await service.search(CatalogQuery(name=names[0]))
    assert found.total == 0, "a row without a key is not found (as after migration 0005)"

    await CatalogProjection().catch_up(pool)

    assert await pool.fetch(KEYS, ids) == keys
    found = await service.search(CatalogQuery(name=names[0].lower()))
    assert [json.loads(doc)["name"] for doc in found.content] == [names[0]]


async def test_the_next_append_folds_a_gap_in_the_read_model_first(
    service: FunkoService, pool: asyncpg.Pool, store: EventStore
) -> None:
    category = unique("cat").upper()
    start = await log_head(pool)
    await history(service, category)
    funkos, _ = await read_model(pool)
    count = (await counts_of(pool, category))[category]
    await forget(pool, [category, f"{category}-MOVED"], start)

    late = await service.create(new_fields(category), "dave")

    after_funkos, _ = await read_model(pool)
    assert [r for r in after_funkos if r[0] != late.funko_id] == funkos
    assert await counts_of(pool, category) == {category: count + 1}
    assert await projection_position(pool) == await log_head(pool)
