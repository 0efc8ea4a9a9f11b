"""Consumer groups' delivery rules in PostgreSQL (infrastructure/group_delivery.py): one Funko
in flight at a time across processes, in position order; at least once (NACKs, members
leaving, leases running out) until acknowledged or parked; a checkpoint that moves only past
what is done and survives a restart."""

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from infrastructure import bootstrap
from infrastructure.group_delivery import GroupDelivery
from infrastructure.groups import Groups, GroupSettings, NotParked
from tests.support.shop import funko_fields


@pytest.fixture
async def shop(fresh_database: str) -> AsyncIterator[bootstrap.Running]:
    async with bootstrap.running(fresh_database, min_size=1, max_size=8) as parts:
        yield parts


async def history(parts: bootstrap.Running, funkos: int, changes: int) -> dict[UUID, list[int]]:
    """``funkos`` Funkos, each created then changed ``changes`` times, interleaved: the
    positions of each Funko's events."""
    ids = [
        (await parts.service.create(funko_fields(price=Decimal("5.00")), "t")).funko_id
        for _ in range(funkos)
    ]
    for stock in range(changes):
        for funko_id in ids:
            await parts.service.amend(funko_id, {"stock": stock}, "t")
    rows = await parts.pool.fetch("SELECT funko_id, position FROM events ORDER BY position")
    positions: dict[UUID, list[int]] = {}
    for funko_id, position in rows:
        positions.setdefault(funko_id, []).append(position)
    return positions


async def group(parts: bootstrap.Running, name: str, attempts: int = 5) -> None:
    await Groups(parts.pool).put(GroupSettings(name, start_after=0, max_attempts=attempts))


async def test_two_processes_never_hold_one_funko_and_each_gets_its_events_in_order(
    shop: bootstrap.Running,
) -> None:
    positions = await history(shop, funkos=6, changes=4)
    await group(shop, "pair")
    one, two = GroupDelivery(shop.pool, uuid4()), GroupDelivery(shop.pool, uuid4())
    seen: list[tuple[UUID, int]] = []
    owner = {p: f for f, ps in positions.items() for p in ps}

    async def member(delivery: GroupDelivery) -> None:
        while True:
            taken = await delivery.claim("pair", "m", 3)
            if not taken:
                if len(seen) == len(owner):
                    return
                await asyncio.sleep(0.01)
                continue
            held = {owner[d.position] for d in taken}
            assert len(held) == len(taken)  # one event a Funko per claim
            for d in taken:
                seen.append((owner[d.position], d.position))
                assert json.loads(d.envelope)["position"] == d.position
            await asyncio.sleep(0.005)
            assert await delivery.ack("pair", "m", [d.position for d in taken]) == sorted(
                d.position for d in taken
            )

    await asyncio.wait_for(asyncio.gather(member(one), member(two)), 30)
    for funko_id, expected in positions.items():
        assert [p for f, p in seen if f == funko_id] == expected  # once each, in order
    assert await one.advance("pair") == max(owner)
    assert await shop.pool.fetchval("SELECT count(*) FROM group_done") == 0


async def test_a_nacked_event_comes_back_one_attempt_more_and_is_parked_after_the_last(
    shop: bootstrap.Running,
) -> None:
    positions = await history(shop, funkos=1, changes=1)
    ((first, second),) = positions.values()
    await group(shop, "picky", attempts=3)
    delivery = GroupDelivery(shop.pool, uuid4())
    for attempt in (1, 2):
        (taken,) = await delivery.claim("picky", "m", 10)
        assert (taken.position, taken.attempt) == (first, attempt)
        (ended,) = await delivery.end("picky", "m", [first], "cannot index it")
        assert not ended.parked
    (taken,) = await delivery.claim("picky", "m", 10)
    assert taken.attempt == 3
    (ended,) = await delivery.end("picky", "m", [first], "cannot index it")
    assert ended.parked
    (taken,) = await delivery.claim("picky", "m", 10)  # the Funko's next event, at last
    assert (taken.position, taken.attempt) == (second, 1)
    parked = await shop.pool.fetchrow("SELECT attempts, reason FROM group_done WHERE parked")
    assert parked is not None and tuple(parked) == (3, "cannot index it")
    await delivery.ack("picky", "m", [second])
    assert await delivery.advance("picky") == second
    assert (await Groups(shop.pool).standing("picky")).parked == 1


async def test_a_lease_nobody_renews_runs_out_and_another_process_takes_the_event(
    shop: bootstrap.Running,
) -> None:
    positions = await history(shop, funkos=2, changes=0)
    await group(shop, "crash")
    killed = GroupDelivery(shop.pool, uuid4(), lease=0.3)
    survivor = GroupDelivery(shop.pool, uuid4(), lease=5)
    taken = await killed.claim("crash", "m", 10)
    assert len(taken) == 2
    assert await survivor.claim("crash", "m", 10) == []  # both Funkos in flight
    await asyncio.sleep(0.5)
    retaken = await survivor.claim("crash", "m", 10)
    assert [(d.position, d.attempt) for d in retaken] == [(d.position, 2) for d in taken]
    assert await killed.ack("crash", "m", [d.position for d in taken]) == []  # not its own now
    renewing = GroupDelivery(shop.pool, survivor.process, lease=5)
    await renewing.renew()
    assert sorted(await survivor.ack("crash", "m", [d.position for d in retaken])) == sorted(
        p for ps in positions.values() for p in ps
    )


async def test_the_checkpoint_moves_only_past_what_is_done_and_a_restart_starts_there(
    shop: bootstrap.Running,
) -> None:
    await history(shop, funkos=3, changes=0)  # positions 1, 2, 3
    await group(shop, "careful")
    delivery = GroupDelivery(shop.pool, uuid4())
    taken = await delivery.claim("careful", "m", 10)
    assert [d.position for d in taken] == [1, 2, 3]
    await delivery.ack("careful", "m", [2, 3])
    assert await delivery.advance("careful") == 0  # 1 is not done
    left = await delivery.end("careful", "m", None, "member left")
    assert [(e.position, e.parked) for e in left] == [(1, False)]

    restarted = GroupDelivery(shop.pool, uuid4())
    (again,) = await restarted.claim("careful", "other", 10)
    assert (again.position, again.attempt) == (1, 2)  # 2 and 3 stay acknowledged
    await restarted.ack("careful", "other", [1])
    assert await restarted.advance("careful") == 3
    more = await history(shop, funkos=1, changes=0)
    (fresh,) = await restarted.claim("careful", "other", 10)
    assert [fresh.position] == next(iter(p for f, p in more.items() if p[0] > 3))


async def test_a_retried_parked_event_behind_the_checkpoint_comes_again_and_the_checkpoint_stays(
    shop: bootstrap.Running,
) -> None:
    await history(shop, funkos=3, changes=0)  # positions 1, 2, 3
    await group(shop, "retrying", attempts=1)
    delivery, groups = GroupDelivery(shop.pool, uuid4()), Groups(shop.pool)
    assert [d.position for d in await delivery.claim("retrying", "m", 10)] == [1, 2, 3]
    await delivery.end("retrying", "m", [1], "broken")  # parked at once: max 1 attempt
    await delivery.ack("retrying", "m", [2, 3])
    assert await delivery.advance("retrying") == 3
    await groups.retry("retrying", 1)
    (again,) = await delivery.claim("retrying", "m", 10)
    assert (again.position, again.attempt) == (1, 1)
    assert json.loads(again.envelope)["attempt"] == 1
    assert (await groups.standing("retrying")).checkpoint == 3  # it never moves back
    await delivery.ack("retrying", "m", [1])
    assert await delivery.claim("retrying", "m", 10) == []
    assert (await groups.standing("retrying")).parked == 0
    with pytest.raises(NotParked):
        await groups.retry("retrying", 1)


async def test_a_member_counts_while_its_process_renews_it_and_not_after(
    shop: bootstrap.Running,
) -> None:
    await group(shop, "counted")
    groups = Groups(shop.pool)
    gone, staying = GroupDelivery(shop.pool, uuid4(), lease=0.3), GroupDelivery(shop.pool, uuid4())
    await gone.join("counted", "a")
    await staying.join("counted", "b")
    assert (await groups.standing("counted")).members == 2
    await asyncio.sleep(0.5)  # gone's process stopped renewing: killed, say
    await staying.renew()
    assert (await groups.standing("counted")).members == 1
    await staying.leave("counted", "b")
    assert (await groups.standing("counted")).members == 0
