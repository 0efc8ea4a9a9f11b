"""The change stream's order, on both transports (WebSocket and server-sent events): every
committed event once, in position order, resumable anywhere."""

import asyncio

import asyncpg
import pytest

from infrastructure.envelopes import head
from tests.e2e.conftest import StartServer
from tests.e2e.rest import Client, create, send
from tests.e2e.streams_kit import write_history
from tests.support.shop import FUNKOS
from tests.support.streams import TRANSPORTS, check_stream, log_positions, subscribe
from tests.support.waiting import eventually
from web.keys import READER

pytestmark = pytest.mark.parametrize("transport", TRANSPORTS)
WRITERS = 8
CHANGES = 23  # with the create and the delete: 25 events a writer


async def test_concurrent_writes_reach_subscribers_started_before_during_and_after_in_order(
    client: Client, pool: asyncpg.Pool, transport: str
) -> None:
    start = await head(pool)
    halfway = asyncio.Event()
    done = 0

    async def writer() -> None:
        nonlocal done
        funko_id = (await create(client, stock=0))["id"]
        for stock in range(1, CHANGES + 1):
            await send(client, "PATCH", f"{FUNKOS}/{funko_id}", {"stock": stock})
            done += 1
            if done >= WRITERS * CHANGES // 2:
                halfway.set()
            await asyncio.sleep(0.002)
        assert (await send(client, "DELETE", f"{FUNKOS}/{funko_id}")).status == 204

    before = [await subscribe(transport, client), await subscribe(transport, client, after=start)]
    await asyncio.gather(*(b.reach(start) for b in before))
    writers = asyncio.gather(*(writer() for _ in range(WRITERS)))
    await halfway.wait()
    during = [await subscribe(transport, client), await subscribe(transport, client, after=start)]
    await writers
    written = await head(pool)
    after = [await subscribe(transport, client), await subscribe(transport, client, after=start)]
    await after[0].reach(0)
    await create(client)  # one more, live for everyone
    end = await head(pool)
    assert len(await log_positions(pool, start, end)) == WRITERS * (CHANGES + 2) + 1

    for listener, since in zip(before + during + after, [None, start] * 3, strict=True):
        await listener.reach(end)
        await check_stream(listener, pool, since, end)
        if since is not None:  # a full replay, whenever it started
            assert listener.positions == await log_positions(pool, start, end)
        await listener.close()
    assert before[0].caught_up == [start]
    assert after[1].caught_up[0] >= written, "a replay catches up with the log as it found it"


async def test_resuming_after_any_position_sends_exactly_the_events_after_it(
    client: Client, pool: asyncpg.Pool, transport: str
) -> None:
    start = await head(pool)
    await asyncio.gather(*(write_history(client, 9) for _ in range(3)))
    end = await head(pool)
    await eventually(lambda: client.app[READER].position == end, 5, "the reader reads the log")
    ours = await log_positions(pool, start, end)
    assert len(ours) == 33

    for after in (0, start, ours[0], ours[7], ours[16], ours[-2]):
        listener = await subscribe(transport, client, after=after)
        await listener.reach(end)
        assert await check_stream(listener, pool, after, end) == end
        assert listener.positions == await log_positions(pool, after, end)
        assert listener.frames[-1] == {"type": "CAUGHT_UP", "position": end}
        await listener.close()


async def test_resuming_at_the_head_sends_only_caught_up_then_live_events(
    client: Client, pool: asyncpg.Pool, transport: str
) -> None:
    await create(client)
    end = await head(pool)
    await eventually(lambda: client.app[READER].position == end, 5, "the reader reads the log")
    listener = await subscribe(transport, client, after=end)
    await listener.reach(end)
    await asyncio.sleep(0.2)
    assert listener.frames == [{"type": "CAUGHT_UP", "position": end}]

    funko = await create(client)
    newest = await head(pool)
    await listener.reach(newest)
    assert [(e["funkoId"], e["type"]) for e in listener.events] == [(funko["id"], "CREATE")]
    await check_stream(listener, pool, end, newest)


async def test_caught_up_marks_where_a_resumed_stream_continues_without_gap_or_repeat(
    client: Client, pool: asyncpg.Pool, transport: str
) -> None:
    start = await head(pool)
    await write_history(client, 4)
    first = await subscribe(transport, client, after=start)
    writers = asyncio.gather(*(write_history(client, 6, pace=0.005) for _ in range(3)))
    await first.reach(start + 1)
    await writers
    end = await head(pool)
    await first.reach(end)
    caught_up = await check_stream(first, pool, start, end)

    resumed = await subscribe(transport, client, after=caught_up)
    await resumed.reach(end)
    live = [p for p in first.positions if p > caught_up]
    assert resumed.positions == live
    cut = first.positions[len(first.positions) // 2]
    again = await subscribe(transport, client, after=cut)
    await again.reach(end)
    assert first.positions == [p for p in first.positions if p <= cut] + again.positions


async def test_a_subscriber_on_one_server_receives_in_order_what_other_servers_write(
    start_server: StartServer, pool: asyncpg.Pool, transport: str
) -> None:
    one, two = await start_server(), await start_server()
    start = await head(pool)
    watchers = [await subscribe(transport, one), await subscribe(transport, two)]
    await asyncio.gather(*(w.reach(0) for w in watchers))
    await asyncio.gather(*(write_history((one, two)[n % 2], 8) for n in range(6)))
    end = await head(pool)
    replay = await subscribe(transport, one, after=start)
    for listener in [*watchers, replay]:
        await listener.reach(end)
    for watcher in watchers:
        await check_stream(watcher, pool, None, end)
        assert watcher.positions == await log_positions(pool, start, end)
    await check_stream(replay, pool, start, end)
    assert replay.events == watchers[0].events == watchers[1].events
