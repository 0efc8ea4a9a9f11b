"""since=<time>: the first event, in position order, created at or after a time, found by the
log clock's index (migration 0008), whatever order the events' createdAt came in."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from domain.funko import Funko
from infrastructure import bootstrap
from infrastructure.database import migrate
from infrastructure.envelopes import START_AT, start_at
from infrastructure.event_store import EventStore
from tests.integration.funko_events import new_fields, pending_event
from tests.support.databases import migrations_upto

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SECOND, MICROSECOND = timedelta(seconds=1), timedelta(microseconds=1)
# createdAt of positions 1 to 6: out of order (3 before 2), equal (2 and 4), a batch's worth.
TIMES = [T0, T0 + 2 * SECOND, T0 + SECOND, T0 + 2 * SECOND, T0 + 3 * SECOND, T0 + 3 * SECOND]
# since → the position after which a subscription starts (6, the head, when none is as late).
EXPECTED = {
    T0 - SECOND: 0,
    T0: 0,
    T0 + MICROSECOND: 1,
    T0 + SECOND: 1,  # position 2 (at +2 s) is the first at or after +1 s, before position 3
    T0 + 2 * SECOND: 1,
    T0 + 2 * SECOND + MICROSECOND: 4,
    T0 + 3 * SECOND: 4,
    T0 + 3 * SECOND + MICROSECOND: 6,
    T0 + 365 * 24 * 3600 * SECOND: 6,
}


async def append_at(store: EventStore, times: list[datetime]) -> None:
    """One create per time, each committed before the next is sent (positions in that order)."""
    for when in times:
        await store.append(pending_event(Funko.register(new_fields()))._replace(created_at=when))


async def starts(pool: asyncpg.Pool) -> dict[datetime, int]:
    return {since: await start_at(pool, since) for since in EXPECTED}


async def test_a_time_starts_before_the_first_event_created_at_or_after_it(
    fresh_database: str,
) -> None:
    async with bootstrap.running(fresh_database, min_size=1, max_size=4) as parts:
        await append_at(parts.store, TIMES)
        assert await starts(parts.pool) == EXPECTED
        async with parts.pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL enable_seqscan = off")  # six rows: as if a million
            plan = "\n".join(row[0] for row in await conn.fetch(f"EXPLAIN {START_AT}", T0))
        assert "Index Only Scan using log_clock_reached" in plan, plan


async def test_an_empty_log_starts_at_its_head(fresh_database: str) -> None:
    async with bootstrap.running(fresh_database, min_size=1, max_size=4) as parts:
        assert await start_at(parts.pool, T0) == 0


async def test_events_queued_together_keep_the_clock_too(
    fresh_database: str,
) -> None:
    async with bootstrap.running(fresh_database, min_size=1, max_size=4) as parts:
        await append_at(parts.store, TIMES[:1])
        clock = "SELECT reached_at FROM log_clock ORDER BY position"
        batch = [pending_event(Funko.register(new_fields())) for _ in TIMES[1:]]
        for appended, when in zip(batch, TIMES[1:], strict=True):
            parts.store.append(appended._replace(created_at=when))  # queued together
        await parts.store.append(
            pending_event(Funko.register(new_fields()))._replace(created_at=T0)
        )
        reached = [row[0] for row in await parts.pool.fetch(clock)]
        assert reached == [T0] + [max(TIMES[1 : n + 2]) for n in range(5)] + [max(TIMES)]


async def test_the_migration_fills_the_clock_for_the_events_logged_before_it(
    fresh_database: str, tmp_path: Path
) -> None:
    await migrate(fresh_database, migrations_upto(tmp_path / "before", "0007"))
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=4)
    try:
        async with EventStore(pool) as store:
            await append_at(store, TIMES)
    finally:
        await pool.close()
    assert (await migrate(fresh_database))[0] == "0008_log_clock.sql"
    async with bootstrap.running(fresh_database, min_size=1, max_size=4) as parts:
        assert await starts(parts.pool) == EXPECTED
