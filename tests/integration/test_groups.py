"""Consumer groups' settings and standing (infrastructure/groups.py) on a real PostgreSQL:
creating is idempotent and never changes a group's settings silently, a group starts at the
head unless told, its lag counts the matching events after its checkpoint, deleting removes
it and what it held."""

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest

from infrastructure import bootstrap
from infrastructure.groups import GroupConflict, GroupNotFound, Groups, GroupSettings
from tests.support.shop import funko_fields


@pytest.fixture
async def shop(fresh_database: str) -> AsyncIterator[bootstrap.Running]:
    async with bootstrap.running(fresh_database, min_size=1, max_size=8) as parts:
        yield parts


async def write(parts: bootstrap.Running, creates: int, updates: int = 0) -> None:
    for _ in range(creates):
        created = await parts.service.create(funko_fields(price=Decimal("9.99")), "tester")
        for stock in range(updates):
            await parts.service.amend(created.funko_id, {"stock": stock}, "tester")


async def test_a_group_starts_at_the_head_unless_told_and_its_lag_counts_what_it_takes(
    shop: bootstrap.Running,
) -> None:
    groups = Groups(shop.pool)
    await write(shop, 3, updates=1)  # positions 1..6: CREATE, UPDATE, ...
    assert await groups.put(GroupSettings("indexer"))
    assert await groups.put(GroupSettings("mailer", start_after=0, types=("UPDATE",)))

    indexer, mailer = await groups.standing("indexer"), await groups.standing("mailer")
    assert (indexer.settings.start_after, indexer.checkpoint, indexer.lag) == (6, 6, 0)
    assert (mailer.settings.start_after, mailer.checkpoint, mailer.lag) == (0, 0, 3)
    await write(shop, 1, updates=2)
    indexer, mailer = await groups.standing("indexer"), await groups.standing("mailer")
    assert (indexer.head, indexer.lag, mailer.lag) == (9, 3, 5)
    assert (indexer.in_flight, indexer.parked) == (0, 0)
    assert [g.settings.name for g in await groups.every()] == ["indexer", "mailer"]


async def test_creating_again_changes_nothing_and_other_settings_are_a_conflict(
    shop: bootstrap.Running,
) -> None:
    groups = Groups(shop.pool)
    wanted = GroupSettings("search.index-1", start_after=0, types=("UPDATE", "CREATE"))
    assert await groups.put(wanted)
    await write(shop, 2)
    assert not await groups.put(wanted)
    assert not await groups.put(GroupSettings("search.index-1", types=("CREATE", "UPDATE")))
    for other in (
        GroupSettings("search.index-1", start_after=1, types=("CREATE", "UPDATE")),
        GroupSettings("search.index-1", start_after=0),
        GroupSettings("search.index-1", start_after=0, types=wanted.types, max_attempts=6),
    ):
        with pytest.raises(GroupConflict):
            await groups.put(other)
    stored = (await groups.standing("search.index-1")).settings
    assert (stored.start_after, stored.types, stored.max_attempts) == (0, ("CREATE", "UPDATE"), 5)


async def test_concurrent_creates_of_one_group_make_it_once(shop: bootstrap.Running) -> None:
    groups = Groups(shop.pool)
    created = await asyncio.gather(*(groups.put(GroupSettings("once")) for _ in range(8)))
    assert sorted(created) == [False] * 7 + [True]


async def test_deleting_a_group_removes_it_and_what_it_held(shop: bootstrap.Running) -> None:
    groups = Groups(shop.pool)
    await groups.put(GroupSettings("gone", start_after=0))
    await shop.pool.execute(
        "INSERT INTO group_done (group_name, position, parked, attempts, reason)"
        " VALUES ('gone', 1, true, 5, 'kept failing')"
    )
    assert (await groups.standing("gone")).parked == 1
    await groups.delete("gone")
    with pytest.raises(GroupNotFound):
        await groups.standing("gone")
    with pytest.raises(GroupNotFound):
        await groups.delete("gone")
    assert await shop.pool.fetchval("SELECT count(*) FROM group_done") == 0


@pytest.mark.parametrize("name", ["", "Upper", "-dash-first", "a" * 65, "white space"])
async def test_the_schema_refuses_a_name_outside_the_contract(
    shop: bootstrap.Running, name: str
) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await Groups(shop.pool).put(GroupSettings(name))
