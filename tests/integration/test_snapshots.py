"""Loading a Funko from its snapshots: the state a full fold of its events gives, at every
version, reading a bounded number of rows however long its history."""

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from domain.funko import Funko, FunkoDeleted, FunkoNotFound, VersionNotFound
from domain.services import FunkoService
from infrastructure.catalog import CatalogReadModel
from infrastructure.event_store import EventStore
from infrastructure.funko_repository import EventSourcedFunkos
from infrastructure.json_codec import dumps
from infrastructure.snapshots import Snapshots
from tests.integration.funko_events import new_fields, pending_event

INTERVAL = 7  # small, so a few hundred events cross many snapshots


class CountedSnapshots(Snapshots):
    """Snapshots that remember how many rows each load read."""

    def __init__(self, pool: asyncpg.Pool, interval: int = INTERVAL) -> None:
        super().__init__(pool, interval)
        self.rows_read: list[int] = []

    async def load(self, funko_id: UUID, upto: int | None = None) -> list[asyncpg.Record]:
        rows = await super().load(funko_id, upto)
        self.rows_read.append(len(rows))
        return rows


@asynccontextmanager
async def snapshotting(
    store: EventStore, pool: asyncpg.Pool
) -> AsyncIterator[tuple[EventSourcedFunkos, CountedSnapshots]]:
    """A repository loading from snapshots every INTERVAL events; at the block's end, every
    snapshot it took is written."""
    async with CountedSnapshots(pool) as snapshots:
        yield EventSourcedFunkos(store, snapshots), snapshots


def amending(fields: dict[str, Any]) -> Callable[[Funko], None]:
    return lambda funko: funko.amend(fields)


def random_change(rng: random.Random) -> Callable[[Funko], None]:
    """A replace (all fields) or an amend of some of them, with random values."""
    fields = {
        "name": f"Funko {rng.randrange(10**6)} ✨",
        "price": Decimal(rng.randrange(1, 10**6)) / 100,
        "stock": rng.randrange(0, 1000),
        "image": rng.choice([None, f"https://img.example/{rng.randrange(100)}.png"]),
        "category": rng.choice(["movies", "games", "anime"]),
    }
    if rng.random() < 0.2:
        return lambda funko: funko.replace(fields)
    return amending(dict(rng.sample(sorted(fields.items()), rng.randrange(1, 5))))


async def snapshot_versions(pool: asyncpg.Pool, funko_id: UUID) -> list[int]:
    sql = "SELECT version FROM snapshots WHERE funko_id = $1 ORDER BY version"
    return [row[0] for row in await pool.fetch(sql, funko_id)]


async def append_history(store: EventStore, events: int) -> UUID:
    """A Funko of ``events`` events (its stock changing), appended in one go."""
    funko = Funko.register(new_fields())
    queued = [store.append(pending_event(funko))]
    for stock in range(2, events + 1):
        funko.amend({"stock": stock})
        queued.append(store.append(pending_event(funko), queued[-1]))
    await asyncio.gather(*queued)
    return funko.id


async def test_every_version_loads_from_snapshots_exactly_as_a_full_fold_gives_it(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    full = EventSourcedFunkos(store)  # folds every event: the reference
    async with snapshotting(store, pool) as (funkos, _):
        ids = [(await funkos.save(Funko.register(new_fields()), "a")).funko_id for _ in "12"]
        for _ in range(300):  # two Funkos' changes interleaved
            await funkos.change(rng.choice(ids), "writer", random_change(rng))
        await funkos.change(ids[0], "writer", Funko.delete)

    for funko_id in ids:
        latest = await full.get(funko_id)
        taken = await snapshot_versions(pool, funko_id)
        assert taken and all(version % INTERVAL == 0 for version in taken), seed
        async with snapshotting(store, pool) as (funkos, _):
            for version in range(1, latest.version + 1):
                at = await funkos.get(funko_id, version)
                assert vars(at) == vars(await full.get(funko_id, version)), (seed, version)
            assert vars(await funkos.get(funko_id)) == vars(latest), seed


async def test_a_long_history_loads_at_most_an_interval_of_events_after_its_snapshot(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    funko_id = await append_history(store, 500)
    async with snapshotting(store, pool) as (funkos, first):
        await funkos.get(funko_id)  # no snapshot yet: reads every event, takes one at 497
    assert first.rows_read == [500]
    assert await snapshot_versions(pool, funko_id) == [497]

    async with snapshotting(store, pool) as (funkos, then):
        assert (await funkos.get(funko_id)).stock == 500
        await funkos.change(funko_id, "seller", amending({"stock": 7}))
        assert (await funkos.get(funko_id)).stock == 7
        await funkos.get(funko_id, 250)  # older than any snapshot: takes one at 245
    # The snapshot and the events after it; the change's load; its own event read back too.
    assert then.rows_read == [1 + 3, 1 + 3, 1 + 4, 250]
    async with snapshotting(store, pool) as (funkos, last):
        assert (await funkos.get(funko_id, 250)).version == 250
    assert last.rows_read == [1 + 5]
    assert await snapshot_versions(pool, funko_id) == [245, 497]


async def test_a_funko_with_fewer_events_than_the_interval_writes_no_snapshot(
    service: FunkoService, store: EventStore, pool: asyncpg.Pool
) -> None:
    created = await service.create(new_fields(), "alice")
    async with snapshotting(store, pool) as (funkos, snapshots):
        for stock in range(2, INTERVAL):
            await funkos.change(created.funko_id, "a", amending({"stock": stock}))
        assert (await funkos.get(created.funko_id)).version == INTERVAL - 1
    assert await snapshot_versions(pool, created.funko_id) == []
    assert max(snapshots.rows_read) == INTERVAL - 1


async def test_point_in_time_reads_across_a_snapshot_are_the_funko_as_it_stood(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    funko_id = await append_history(store, 3 * INTERVAL)
    async with snapshotting(store, pool) as (funkos, _):
        for version in range(1, 3 * INTERVAL + 1):
            await funkos.get(funko_id, version)
    assert await snapshot_versions(pool, funko_id) == [INTERVAL, 2 * INTERVAL, 3 * INTERVAL]
    async with snapshotting(store, pool) as (funkos, _):
        service = FunkoService(funkos, CatalogReadModel(pool))
        for version in (INTERVAL - 1, INTERVAL, INTERVAL + 1, 3 * INTERVAL - 1, 3 * INTERVAL):
            at = await service.state_at(funko_id, version)
            assert (at.version, at.stock) == (version, version)
        with pytest.raises(VersionNotFound):
            await service.state_at(funko_id, 3 * INTERVAL + 1)


async def test_a_deleted_funko_loaded_from_a_snapshot_refuses_changes(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    funko_id = await append_history(store, INTERVAL - 1)
    async with snapshotting(store, pool) as (funkos, _):
        await funkos.change(funko_id, "a", Funko.delete)  # the delete is at INTERVAL
        await funkos.get(funko_id, INTERVAL + 5)
    assert await snapshot_versions(pool, funko_id) == [INTERVAL]

    async with snapshotting(store, pool) as (funkos, snapshots):
        assert (await funkos.get(funko_id)).deleted
        with pytest.raises(FunkoDeleted):
            await funkos.change(funko_id, "a", amending({"stock": 1}))
        with pytest.raises(FunkoNotFound):
            await funkos.get(uuid4())
    assert snapshots.rows_read[0] == 1


async def test_writers_in_several_processes_each_compute_on_the_state_the_log_holds(
    store: EventStore, pool: asyncpg.Pool, service: FunkoService
) -> None:
    created = await service.create(new_fields(), "alice")
    async with (
        EventStore(pool) as one,
        EventStore(pool) as two,
        EventStore(pool) as three,
        CountedSnapshots(pool, 3) as snapshots,
    ):
        processes = [EventSourcedFunkos(each, snapshots) for each in (one, two, three)]
        await asyncio.gather(
            *(
                processes[n % 3].change(created.funko_id, f"w{n}", amending({"stock": n}))
                for n in range(90)
            )
        )

    rows = await pool.fetch(
        "SELECT version, data::text FROM events WHERE funko_id = $1 ORDER BY version",
        created.funko_id,
    )
    assert [row["version"] for row in rows] == list(range(1, 92))
    full = EventSourcedFunkos(store)
    for version, data in rows:  # each event's Funko is the full fold's at its version
        assert data == dumps((await full.get(created.funko_id, version)).as_dict()), version
    assert await snapshot_versions(pool, created.funko_id)
