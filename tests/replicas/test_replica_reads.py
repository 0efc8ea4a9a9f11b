"""Choosing the replica or the primary for a read (infrastructure/replica_reads.py), against a
real streaming replica: a read that must reach a position gets the replica only once it holds
that position; a replica that is gone or trails sends reads to the primary until it is back."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import asyncpg
import pytest

from domain.ports import Recorded
from infrastructure import bootstrap
from infrastructure.replica_reads import HEAD, ReplicaReads, watched
from tests.support.replication import Replication
from tests.support.shop import funko_fields

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def create_funko(url: str) -> Recorded:
    async with bootstrap.running(url, min_size=1, max_size=2) as parts:
        return await parts.service.create(funko_fields(price=Decimal("9.99")), "tester")


@asynccontextmanager
async def reads_on(pair: Replication) -> AsyncIterator[ReplicaReads]:
    async with (
        asyncpg.create_pool(pair.primary_url, min_size=1, max_size=2) as primary,
        asyncpg.create_pool(pair.replica_url, min_size=0, max_size=2) as replica,
    ):
        reads = ReplicaReads(primary, replica)
        await reads.check()
        yield reads


async def test_a_read_that_must_reach_a_position_gets_the_replica_only_once_it_holds_it(
    primary_and_replica: Replication,
) -> None:
    pair = primary_and_replica
    async with reads_on(pair) as reads:
        assert await reads.pool_for() is reads.replica
        await pair.pause()
        written = await create_funko(pair.primary_url)

        assert await reads.pool_for(written.position) is reads.primary  # not replayed yet
        assert await reads.pool_for(written.position - 1) is reads.replica
        await reads.check()
        assert reads.standing.lag_positions == 1

        await pair.resume()
        await pair.caught_up()
        assert await reads.pool_for(written.position) is reads.replica
        served = await reads.replica.fetchval(
            "SELECT version FROM catalog_funkos WHERE id = $1", written.funko_id
        )
        assert served == 1


async def test_a_replica_that_is_gone_sends_reads_to_the_primary_until_it_is_back(
    primary_and_replica: Replication,
) -> None:
    pair = primary_and_replica
    async with reads_on(pair) as reads:
        assert reads.usable
        await pair.stop_replica()
        await reads.check()
        assert not reads.usable
        assert await reads.pool_for() is reads.primary
        assert await reads.pool_for(10**9) is reads.primary

        await pair.start_replica()
        await pair.caught_up()
        await reads.check()
        assert reads.usable
        assert await reads.pool_for() is reads.replica


async def test_without_a_replica_every_read_goes_to_the_primary(
    primary_and_replica: Replication,
) -> None:
    async with asyncpg.create_pool(primary_and_replica.primary_url, min_size=1) as primary:
        reads = ReplicaReads(primary, None)
        await reads.check()
        assert await reads.pool_for() is primary
        assert await reads.pool_for(10**9) is primary


async def test_a_read_the_replica_fails_runs_again_on_the_primary(
    primary_and_replica: Replication,
) -> None:
    pair = primary_and_replica
    written = await create_funko(pair.primary_url)
    await pair.caught_up()
    async with reads_on(pair) as reads:
        assert reads.usable
        await pair.stop_replica()  # no check has seen it go: the read is tried there first
        query = "SELECT version FROM catalog_funkos WHERE id = $1"
        assert await reads.fetchval(query, written.funko_id) == 1
        assert (reads.counts.fallbacks, reads.counts.primary, reads.counts.replica) == (1, 1, 0)
        assert not reads.usable
        assert await reads.pool_for() is reads.primary


async def test_a_replica_url_naming_no_copy_of_the_primary_is_never_read(
    primary_and_replica: Replication,
) -> None:
    pair = primary_and_replica
    empty = pair.primary_url.rsplit("/", 1)[0] + "/postgres"  # on the primary, not migrated
    for wrong in (pair.primary_url, empty):  # writable: its log would never move
        async with (
            asyncpg.create_pool(pair.primary_url, min_size=1, max_size=2) as primary,
            asyncpg.create_pool(wrong, min_size=0, max_size=2) as replica,
            watched(ReplicaReads(primary, replica)) as reads,
        ):
            assert not reads.usable, wrong
            assert reads.standing.error
            assert await reads.fetchval(HEAD) == await primary.fetchval(HEAD)
            assert reads.counts.replica == 0
