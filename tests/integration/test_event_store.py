"""The PostgreSQL event store: group-committed appends, expected versions, reads by position."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import pairwise
from uuid import UUID, uuid4

import asyncpg
import pytest

from domain.funko import Funko
from domain.ports import VersionConflict
from domain.services import FunkoService
from infrastructure.envelopes import head as log_head
from infrastructure.event_store import COMMIT_BY, AppendRefused, EventStore, StoreUnavailable
from infrastructure.funko_repository import EventSourcedFunkos
from tests.integration.funko_events import append_beside, new_fields, pending_event
from tests.support.shop import unique

APPENDERS = 16
EVENTS_EACH = 200


async def append_history(store: EventStore) -> tuple[UUID, list[int]]:
    """One Funko's versions 1..EVENTS_EACH, appended one command at a time."""
    funko = Funko.register(new_fields())
    positions = await store.append(pending_event(funko))
    for stock in range(2, EVENTS_EACH + 1):
        funko.amend({"stock": stock})
        positions += await store.append(pending_event(funko))
    return funko.id, positions


async def positions_after(pool: asyncpg.Pool, after: int, limit: int) -> list[int]:
    """Committed positions greater than ``after``, oldest first."""
    sql = "SELECT position FROM events WHERE position > $1 ORDER BY position LIMIT $2"
    return [row[0] for row in await pool.fetch(sql, after, limit)]


async def test_concurrent_appenders_get_increasing_positions_that_a_reader_never_misses(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    head = await log_head(pool)
    appended = asyncio.Event()
    ours: set[int] = set()

    seen: list[int] = []

    async def read() -> None:
        last = head
        while not (appended.is_set() and last >= max(ours)):
            batch = await positions_after(pool, last, 500)
            if batch:
                seen.extend(batch)
                last = batch[-1]
            else:
                await asyncio.sleep(0.001)

    reader = asyncio.create_task(read())
    histories = await asyncio.gather(*(append_history(store) for _ in range(APPENDERS)))
    ours.update(p for _, positions in histories for p in positions)
    read_while_appending = len(seen)
    appended.set()
    await asyncio.wait_for(reader, timeout=60)

    assert len(ours) == APPENDERS * EVENTS_EACH
    assert min(ours) > head
    for funko_id, positions in histories:
        assert all(a < b for a, b in pairwise(positions))
        versions = [r["version"] for r in await store.load(funko_id)]
        assert versions == list(range(1, EVENTS_EACH + 1))
    assert [p for p in seen if p in ours] == sorted(ours)
    assert seen == sorted(set(seen))
    assert read_while_appending > 0  # the reader ran alongside the appenders


async def test_a_stale_version_writes_nothing_while_its_batch_mate_commits(
    store: EventStore, service: FunkoService, pool: asyncpg.Pool
) -> None:
    funko = await service.create(new_fields(), "alice")
    stale = await EventSourcedFunkos(store).get(funko.funko_id)
    await service.amend(funko.funko_id, {"stock": 2}, "alice")
    history = [tuple(r) for r in await store.load(funko.funko_id)]
    head = await log_head(pool)
    stale.amend({"stock": 99})
    other = Funko.register(new_fields())

    refused, committed = await asyncio.gather(
        store.append(pending_event(stale)),
        store.append(pending_event(other)),
        return_exceptions=True,
    )

    assert isinstance(refused, VersionConflict)
    assert committed == [head + 1]
    assert await log_head(pool) == head + 1
    assert [tuple(r) for r in await store.load(funko.funko_id)] == history
    assert [r["version"] for r in await store.load(other.id)] == [1]


async def test_of_two_writers_from_the_same_version_exactly_one_commits(
    store: EventStore, service: FunkoService
) -> None:
    funko = await service.create(new_fields(), "alice")
    repository = EventSourcedFunkos(store)
    first, second = await repository.get(funko.funko_id), await repository.get(funko.funko_id)
    first.amend({"stock": 5})
    second.amend({"stock": 6})

    results = await asyncio.gather(
        store.append(pending_event(first)),
        store.append(pending_event(second)),
        return_exceptions=True,
    )

    conflicts = [r for r in results if isinstance(r, VersionConflict)]
    assert len(conflicts) == 1
    winner = 5 if isinstance(results[1], VersionConflict) else 6
    current = await repository.get(funko.funko_id)
    assert (current.version, current.stock) == (2, winner)


async def test_a_command_taken_up_after_its_commit_by_time_is_refused_and_its_mate_commits(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    head = await log_head(pool)
    late, timeless = Funko.register(new_fields()), Funko.register(new_fields())
    holder = await pool.acquire()
    try:
        async with holder.transaction():  # every commit waits for the log head meanwhile
            await holder.execute("SELECT position FROM log_head FOR UPDATE")
            commit_by = COMMIT_BY.set(time.time() + 0.2)
            try:
                refused = asyncio.ensure_future(store.append(pending_event(late)))
            finally:
                COMMIT_BY.reset(commit_by)
            committed = asyncio.ensure_future(store.append(pending_event(timeless)))
            await asyncio.sleep(0.5)
            assert not refused.done()
    finally:
        await pool.release(holder)

    with pytest.raises(StoreUnavailable, match="too late"):
        await refused
    assert await committed == [head + 1]
    assert await store.load(late.id) == []


async def test_concurrent_amends_without_if_match_are_all_applied(
    service: FunkoService, pool: asyncpg.Pool
) -> None:
    funko = await service.create(new_fields(), "alice")
    stocks = range(100, 150)

    await asyncio.gather(*(service.amend(funko.funko_id, {"stock": s}, f"w{s}") for s in stocks))

    rows = await pool.fetch(
        "SELECT version, (changes->>'stock')::int AS stock FROM events"
        " WHERE funko_id = $1 ORDER BY version",
        funko.funko_id,
    )
    assert [r["version"] for r in rows] == list(range(1, 52))
    assert sorted(r["stock"] for r in rows[1:]) == list(stocks)
    current = await service.repository.get(funko.funko_id)
    assert (current.version, current.stock) == (51, rows[-1]["stock"])
    document = await service.get(funko.funko_id)
    assert document.version == 51
    assert json.loads(document.json)["stock"] == rows[-1]["stock"]


@asynccontextmanager
async def projection_breaking_on(pool: asyncpg.Pool, name: str) -> AsyncIterator[None]:
    """The catalog projection fails (as a bug in it would) whenever it folds a Funko named
    ``name``, until the block ends."""
    trigger = f"breaks_{uuid4().hex[:12]}"
    quoted = name.replace("'", "''")
    await pool.execute(
        f"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF NEW.name = '{quoted}' THEN RAISE EXCEPTION 'projection broke'; END IF;"
        f" RETURN NEW; END $$;"
        f" CREATE TRIGGER {trigger} BEFORE INSERT OR UPDATE ON catalog_funkos"
        f" FOR EACH ROW EXECUTE FUNCTION {trigger}()"
    )
    try:
        yield
    finally:
        await pool.execute(f"DROP TRIGGER {trigger} ON catalog_funkos; DROP FUNCTION {trigger}()")


async def positions_of(pool: asyncpg.Pool) -> tuple[int, int]:
    """The log head and the catalog projection's tracked position."""
    row = await pool.fetchrow(
        "SELECT (SELECT position FROM log_head),"
        " (SELECT position FROM projection_positions WHERE name = 'catalog')"
    )
    assert row is not None
    return row[0], row[1]


async def test_a_failing_projection_rolls_the_whole_append_back(
    pool: asyncpg.Pool, store: EventStore, service: FunkoService
) -> None:
    category = unique("cat").upper()
    funko = Funko.register(new_fields(category))
    event = pending_event(funko)
    positions_before = await positions_of(pool)
    async with projection_breaking_on(pool, funko.name):
        with pytest.raises(AppendRefused) as refused:
            await store.append(event)
        assert isinstance(refused.value.__cause__, asyncpg.RaiseError)

        assert await store.load(funko.id) == []
        assert await pool.fetchval("SELECT 1 FROM catalog_funkos WHERE id = $1", funko.id) is None
        assert (
            await pool.fetchval("SELECT 1 FROM catalog_categories WHERE name = $1", category)
            is None
        )
        assert await positions_of(pool) == positions_before

    assert await store.append(event) == [positions_before[0] + 1]
    assert await positions_of(pool) == (positions_before[0] + 1,) * 2
    await service.create(new_fields(category), "bob")
    assert (
        await pool.fetchval("SELECT count FROM catalog_categories WHERE name = $1", category) == 2
    )
    assert (await service.get(funko.id)).version == 1


async def test_a_command_the_database_refuses_does_not_sink_its_batch(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    good = [Funko.register(new_fields()) for _ in range(5)]
    refused = pending_event(Funko.register(new_fields()))._replace(type="BOGUS")

    outcomes = await append_beside(store, good, refused)

    assert isinstance(outcomes[3], AppendRefused)
    assert all(isinstance(o, list) and len(o) == 1 for i, o in enumerate(outcomes) if i != 3)
    for funko in good:
        assert [r["version"] for r in await store.load(funko.id)] == [1]
    assert await store.load(refused.funko_id) == []


async def test_a_command_that_breaks_the_commit_in_any_way_fails_alone(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    poisoned = Funko.register(new_fields())
    good = [Funko.register(new_fields()) for _ in range(40)]
    async with projection_breaking_on(pool, poisoned.name):
        outcomes = await asyncio.gather(
            *(store.append(pending_event(f)) for f in good[:20]),
            store.append(pending_event(poisoned)),
            *(store.append(pending_event(f)) for f in good[20:]),
            return_exceptions=True,
        )

    assert isinstance(outcomes[20], AppendRefused), outcomes[20]
    assert isinstance(outcomes[20].__cause__, asyncpg.RaiseError)
    del outcomes[20]
    assert all(isinstance(o, list) and len(o) == 1 for o in outcomes), outcomes
    for funko in good:
        assert [r["version"] for r in await pool.fetch(VERSIONS_OF, funko.id)] == [1]
    assert await pool.fetch(VERSIONS_OF, poisoned.id) == []


VERSIONS_OF = "SELECT version FROM events WHERE funko_id = $1 ORDER BY version"


@pytest.mark.parametrize("actor", ["caf\udce9", "\ud800", "nul\x00"])
async def test_an_actor_the_log_cannot_hold_fails_only_its_own_append(
    store: EventStore, pool: asyncpg.Pool, actor: str
) -> None:
    good = [Funko.register(new_fields()) for _ in range(20)]
    hostile = Funko.register(new_fields())
    outcomes = await asyncio.gather(
        *(store.append(pending_event(f)) for f in good[:10]),
        store.append(pending_event(hostile, actor)),
        *(store.append(pending_event(f)) for f in good[10:]),
        return_exceptions=True,
    )

    assert isinstance(outcomes.pop(10), Exception)
    assert all(isinstance(o, list) and len(o) == 1 for o in outcomes), outcomes
    assert await pool.fetch(VERSIONS_OF, hostile.id) == []
    assert await store.append(pending_event(Funko.register(new_fields())))
