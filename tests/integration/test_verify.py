"""`verify`: a clean log passes; a tampered log or read model is named at its first bad position.

Every test tampers with a database of its own, never the session's.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

import asyncpg
import pytest

from domain.services import FunkoService
from infrastructure import bootstrap
from infrastructure.funko_repository import EventSourcedFunkos
from infrastructure.snapshots import Snapshots
from infrastructure.verification import Finding, Verified, verify
from tests.integration.funko_events import new_fields
from tests.support.cli import run_cli


@dataclass(frozen=True)
class Shop:
    """A database of the test's own, the service writing to it, and its log's landmarks."""

    url: str
    pool: asyncpg.Pool
    service: FunkoService


@pytest.fixture
async def shop(fresh_database: str) -> AsyncIterator[Shop]:
    async with bootstrap.running(fresh_database, min_size=1, max_size=10) as parts:
        yield Shop(fresh_database, parts.pool, parts.service)


@dataclass(frozen=True)
class History:
    """Who is who in the log ``build_history`` writes (positions 1 to 8)."""

    kept: UUID  # created at 1, amended at 3
    replaced: UUID  # created at 2, replaced at 5
    deleted: UUID  # created at 4, deleted at 6
    last: UUID  # created at 7, amended at 8
    category: str  # kept's category


async def build_history(service: FunkoService) -> History:
    kept = await service.create(new_fields(), "alice")
    replaced = await service.create(new_fields(), "alice")
    await service.amend(kept.funko_id, {"stock": 5, "name": "Renamed"}, "bob")
    deleted = await service.create(new_fields(kept.funko["category"]), "alice")
    await service.replace(replaced.funko_id, new_fields(image="https://x.io/a.png"), "bob")
    await service.delete(deleted.funko_id, "carol")
    last = await service.create(new_fields(), "alice")
    await service.amend(last.funko_id, {"price": 1}, "bob")
    return History(
        kept.funko_id, replaced.funko_id, deleted.funko_id, last.funko_id, kept.funko["category"]
    )


async def verify_in_process(pool: asyncpg.Pool, settled: bool = True) -> Verified | Finding:
    """verify on one connection, and on two side by side (as run.py does): the same outcome on
    a log nobody writes meanwhile (``settled``); while writers go on, both pass."""
    async with pool.acquire() as conn, pool.acquire() as beside:
        alone = await verify(conn, lambda *_: None, lambda *_: None)
        side_by_side = await verify(conn, lambda *_: None, lambda *_: None, beside)
    if settled:
        assert side_by_side == alone
    else:
        assert isinstance(side_by_side, Verified), side_by_side
    return alone


async def as_superuser_without_triggers(url: str, *statements: tuple[str, object]) -> None:
    """Run each (SQL, argument) with the append-only triggers lifted, as an intruder could."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            for sql, argument in statements:
                await conn.execute(sql, argument)
    finally:
        await conn.close()


async def test_a_clean_log_of_creates_updates_and_deletes_verifies(shop: Shop) -> None:
    await build_history(shop.service)

    tip = await shop.pool.fetchval("SELECT hash FROM log_head")
    assert await verify_in_process(shop.pool) == Verified(events=8, head=8, hash=tip)
    outcome = await run_cli(shop.url, "verify")
    assert outcome.code == 0, outcome.stdout + outcome.stderr
    assert outcome.stdout.splitlines() == [
        "verified 8 events up to position 8: the hash chain holds and the read model equals"
        " a fresh fold of the log",
        f"head position 8 hash {tip.hex()}",  # the last line, as the contract has it
    ]


ALTER_PRICE = "UPDATE events SET data = jsonb_set(data::jsonb, '{price}', '0.01')::json"
REHASH = (
    "UPDATE events SET hash = event_link((SELECT hash FROM events WHERE position = $1 - 1), events)"
    " WHERE position = $1"
)


async def test_verify_names_an_event_whose_data_was_altered(shop: Shop) -> None:
    await build_history(shop.service)

    await as_superuser_without_triggers(shop.url, (f"{ALTER_PRICE} WHERE position = $1", 3))

    finding = await verify_in_process(shop.pool)
    assert isinstance(finding, Finding)
    assert finding.position == 3
    outcome = await run_cli(shop.url, "verify")
    assert outcome.code == 1
    assert outcome.stdout.startswith("verify FAILED at position 3: ")


LOG_TAMPERING = {
    # name: (statements, the position they touch, the position verify must name)
    "actor altered": (["UPDATE events SET actor = 'mallory' WHERE position = $1"], 3, 3),
    "altered and its own hash recomputed": ([f"{ALTER_PRICE} WHERE position = $1", REHASH], 3, 4),
    "a middle event deleted": (["DELETE FROM events WHERE position = $1"], 3, 4),
    "the last event deleted": (["DELETE FROM events WHERE position = $1"], 8, 8),
}


@pytest.mark.parametrize("tampering", list(LOG_TAMPERING))
async def test_verify_names_the_first_event_whose_link_breaks(shop: Shop, tampering: str) -> None:
    await build_history(shop.service)
    statements, touched, named = LOG_TAMPERING[tampering]

    await as_superuser_without_triggers(shop.url, *((sql, touched) for sql in statements))

    finding = await verify_in_process(shop.pool)
    assert isinstance(finding, Finding)
    assert finding.position == named


Tamper = Callable[[asyncpg.Pool, History], Awaitable[object]]
READ_MODEL_TAMPERING: dict[str, tuple[Tamper, Callable[[History], int]]] = {
    "price changed": (
        lambda db, h: db.execute("UPDATE catalog_funkos SET price = 0 WHERE id = $1", h.kept),
        lambda h: 3,
    ),
    "served document changed": (
        lambda db, h: db.execute(
            "UPDATE catalog_funkos SET doc = jsonb_set(doc::jsonb, '{stock}', '99')::json"
            " WHERE id = $1",
            h.replaced,
        ),
        lambda h: 5,
    ),
    "row lost": (
        lambda db, h: db.execute("DELETE FROM catalog_funkos WHERE id = $1", h.replaced),
        lambda h: 5,
    ),
    "deleted Funko shown again": (
        lambda db, h: db.execute(
            "INSERT INTO catalog_funkos SELECT $2, name, price, stock, image, category, version,"
            " created_at, updated_at, doc FROM catalog_funkos WHERE id = $1",
            h.kept,
            h.deleted,
        ),
        lambda h: 6,
    ),
    # A count belongs to no one Funko: verify names the head it compared at.
    "category count changed": (
        lambda db, h: db.execute(
            "UPDATE catalog_categories SET count = count + 1 WHERE name = $1", h.category
        ),
        lambda h: 8,
    ),
}


@pytest.mark.parametrize("tampering", list(READ_MODEL_TAMPERING))
async def test_verify_names_the_last_event_behind_a_read_model_row_that_differs(
    shop: Shop, tampering: str
) -> None:
    history = await build_history(shop.service)
    tamper, named = READ_MODEL_TAMPERING[tampering]

    await tamper(shop.pool, history)

    finding = await verify_in_process(shop.pool)
    assert isinstance(finding, Finding)
    assert finding.position == named(history)
    outcome = await run_cli(shop.url, "verify")
    assert outcome.code == 1
    assert outcome.stdout.startswith(f"verify FAILED at position {named(history)}: ")


async def test_verify_passes_while_writers_go_on(shop: Shop) -> None:
    funkos = await asyncio.gather(*(shop.service.create(new_fields(), "w") for _ in range(1500)))
    committed: list[int] = []
    verifying = True

    async def write(funko_id: UUID) -> None:
        stock = 0
        while verifying:
            stock += 1
            await shop.service.amend(funko_id, {"stock": stock}, "w")
            committed.append(await shop.pool.fetchval("SELECT position FROM log_head"))

    writers = [asyncio.create_task(write(funko.funko_id)) for funko in funkos[:4]]
    await asyncio.sleep(0.05)
    try:
        outcome = await verify_in_process(shop.pool, settled=False)
        during = list(committed)
    finally:
        verifying = False
        await asyncio.gather(*writers)

    assert isinstance(outcome, Verified), outcome
    assert outcome.events == outcome.head >= 1500
    assert [p for p in during if p > outcome.head] != []  # commits landed during the check
    logged = 1500 + len(committed)
    tip = await shop.pool.fetchval("SELECT hash FROM log_head")
    assert await verify_in_process(shop.pool) == Verified(events=logged, head=logged, hash=tip)


async def snapshotted(url: str) -> tuple[UUID, int]:
    """A Funko changed past a few snapshots (every 3 events), loaded so they are taken; its
    id and the position of the event at version 6."""
    async with bootstrap.running(url, min_size=1, max_size=4) as parts:
        funko = await parts.service.create(new_fields(), "alice")
        for stock in range(8):
            await parts.service.amend(funko.funko_id, {"stock": stock}, "bob")
        async with Snapshots(parts.pool, interval=3) as snapshots:
            for version in (3, 6, 9):
                await EventSourcedFunkos(parts.store, snapshots).get(funko.funko_id, version)
        versions = await parts.pool.fetch(
            "SELECT version FROM snapshots WHERE funko_id = $1 ORDER BY 1", funko.funko_id
        )
        assert [r[0] for r in versions] == [3, 6, 9]
        position = await parts.pool.fetchval(
            "SELECT position FROM events WHERE funko_id = $1 AND version = 6", funko.funko_id
        )
    return funko.funko_id, position


SNAPSHOT_TAMPERING = {
    "stock changed": (
        "UPDATE snapshots SET state = replace(state::text, '\"stock\":4', '\"stock\":7')::json"
    ),
    "planted beyond the history": (
        "INSERT INTO snapshots SELECT funko_id, 12, topic, state FROM snapshots"
    ),
}


@pytest.mark.parametrize("tampering", list(SNAPSHOT_TAMPERING))
async def test_verify_names_a_snapshot_that_is_not_the_funko_its_event_shows(
    shop: Shop, tampering: str
) -> None:
    funko_id, sixth = await snapshotted(shop.url)
    assert isinstance(await verify_in_process(shop.pool), Verified)

    await shop.pool.execute(SNAPSHOT_TAMPERING[tampering] + " WHERE version = 6")

    finding = await verify_in_process(shop.pool)
    assert isinstance(finding, Finding)
    assert finding.position == (sixth if tampering == "stock changed" else 1)
    assert str(funko_id) in finding.problem
