"""The harness the replica tests stand on: a real primary and a real hot standby, whose replay
a test can pause, stop and start, and which leaves nothing behind."""

import asyncio
from decimal import Decimal

import asyncpg
import pytest

from domain.ports import Recorded
from infrastructure import bootstrap
from infrastructure.catalog import CatalogReadModel
from infrastructure.log_reader import CHANNEL
from tests.support.replication import Replication, replication
from tests.support.shop import funko_fields

pytestmark = pytest.mark.asyncio(loop_scope="module")

Events = list[tuple[int, bytes]]


async def create_funkos(url: str, count: int) -> list[Recorded]:
    """``count`` new Funkos, written through the service as a server writes them."""
    async with bootstrap.running(url, min_size=1, max_size=2) as parts:
        fields = [funko_fields(price=Decimal("19.99")) for _ in range(count)]
        return [await parts.service.create(f, "tester") for f in fields]


async def events(url: str) -> Events:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT position, hash FROM events ORDER BY position")
    finally:
        await conn.close()
    return [(r["position"], r["hash"]) for r in rows]


async def head(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT position FROM log_head"))
    finally:
        await conn.close()


async def test_a_write_on_the_primary_is_read_on_the_replica_which_takes_no_writes_nor_listens(
    primary_and_replica: Replication,
) -> None:
    (written,) = await create_funkos(primary_and_replica.primary_url, 1)
    await primary_and_replica.caught_up()

    async with asyncpg.create_pool(primary_and_replica.replica_url, min_size=1) as pool:
        document = await CatalogReadModel(pool).find(written.funko_id)
        assert document is not None and document.version == written.version
        assert await head(primary_and_replica.replica_url) == written.position
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError, match="read-only transaction"):
            await pool.execute("UPDATE log_head SET position = position")
        async with pool.acquire() as conn:
            refused = "cannot execute LISTEN during recovery"
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError, match=refused):
                await conn.add_listener(CHANNEL, lambda *_: None)


async def test_a_paused_replica_shows_no_new_events_until_resumed_then_exactly_the_primarys(
    primary_and_replica: Replication,
) -> None:
    before = await head(primary_and_replica.replica_url)
    await primary_and_replica.pause()

    written = await create_funkos(primary_and_replica.primary_url, 5)
    await asyncio.sleep(0.2)  # time the replica would need to show them, were it replaying

    assert await head(primary_and_replica.primary_url) == written[-1].position
    assert await head(primary_and_replica.replica_url) == before
    assert (await primary_and_replica.lag()).bytes > 0
    with pytest.raises(TimeoutError, match="not replayed"):
        await primary_and_replica.caught_up(within=0.3)

    await primary_and_replica.resume()
    await primary_and_replica.caught_up()
    on_primary = await events(primary_and_replica.primary_url)
    assert on_primary[-1][0] == written[-1].position
    assert await events(primary_and_replica.replica_url) == on_primary
    assert (await primary_and_replica.lag()).bytes == 0


async def test_a_replica_stopped_while_the_primary_takes_writes_catches_up_when_started(
    primary_and_replica: Replication,
) -> None:
    await primary_and_replica.stop_replica()
    with pytest.raises(OSError):
        await asyncpg.connect(primary_and_replica.replica_url)

    written = await create_funkos(primary_and_replica.primary_url, 5)
    await primary_and_replica.start_replica()
    await primary_and_replica.caught_up()

    on_primary = await events(primary_and_replica.primary_url)
    assert on_primary[-1][0] == written[-1].position
    assert await events(primary_and_replica.replica_url) == on_primary


async def test_nothing_of_a_pair_is_left_after_its_block_even_one_that_fails() -> None:
    with pytest.raises(RuntimeError, match="the test failed"):
        async with replication() as pair:
            urls = [pair.primary_url, pair.replica_url]
            directory = pair.directory
            assert await head(pair.replica_url) == 0  # migrated, on both
            raise RuntimeError("the test failed")

    assert not directory.exists()  # one stat, in a test
    for url in urls:
        with pytest.raises(OSError):
            await asyncpg.connect(url)
