"""GET /api/v1/stream: the change stream as server-sent events, as a browser's EventSource and
curl -N read it. The ordering guarantees are test_streams_ordering's, run on both transports."""

import asyncio

import asyncpg
import pytest
from pytest_aiohttp import AiohttpClient

from infrastructure.envelopes import head
from tests.e2e.rest import Client, create, problem
from tests.e2e.streams_kit import serve, write_history
from tests.support.streams import (
    SSE,
    EventStreamListener,
    Listener,
    check_stream,
    log_positions,
)
from tests.support.waiting import eventually
from web.keys import READER, SUBSCRIBERS

BAD_QUERIES = [
    "after=x",
    "after=-1",
    "funkoId=not-a-uuid",
    "types=CREATE,FOO",
    "colour=red",
    "after=1&after=2",
    "since=yesterday",
    "after=0&since=2026-12-07T09:00:00Z",
]


async def test_each_event_carries_its_position_as_id_and_the_envelope_as_data(
    client: Client, pool: asyncpg.Pool
) -> None:
    start = await head(pool)
    await write_history(client, 2)
    end = await head(pool)
    await eventually(lambda: client.app[READER].position == end, 5, "the reader reads the log")
    stream = await EventStreamListener.connect(client, after=start)
    socket = await Listener.connect(client, after=start)
    await stream.reach(end)
    await socket.reach(end)

    assert stream.frames == socket.frames  # the same envelopes and CAUGHT_UP, in the same order
    assert stream.names == ["message"] * 4 + ["caught-up"]
    assert stream.ids == [str(p) for p in await log_positions(pool, start, end)] + [str(end)]
    assert stream.response.headers["Cache-Control"] == "no-store"
    await check_stream(stream, pool, start, end)
    await stream.close()
    await socket.close()


async def test_last_event_id_resumes_after_it_and_wins_over_the_query(
    client: Client, pool: asyncpg.Pool
) -> None:
    start = await head(pool)
    await write_history(client, 5)
    end = await head(pool)
    ours = await log_positions(pool, start, end)
    await eventually(lambda: client.app[READER].position == end, 5, "the reader reads the log")

    for query in ({}, {"after": start}, {"since": "2000-01-01T00:00:00Z"}):
        resumed = await EventStreamListener.resume(client, str(ours[2]), **query)
        await resumed.reach(end)
        assert resumed.positions == ours[3:]
        await check_stream(resumed, pool, ours[2], end)
        await resumed.close()


@pytest.mark.parametrize("given", ["x", "-1", "1.5", "+5", "١", "99999999999999999999"])
async def test_a_last_event_id_that_is_not_a_position_is_refused(
    client: Client, given: str
) -> None:
    document = await problem(await client.get(SSE, headers={"Last-Event-ID": given}), 400)
    assert "Last-Event-ID" in document["errors"]


async def test_a_last_event_id_beyond_the_newest_position_is_refused(
    client: Client, pool: asyncpg.Pool
) -> None:
    await create(client)
    newest = await head(pool)
    response = await client.get(SSE, headers={"Last-Event-ID": str(newest + 1)})
    assert "Last-Event-ID" in (await problem(response, 400))["errors"]


@pytest.mark.parametrize("query", BAD_QUERIES)
async def test_an_invalid_query_is_400_before_the_stream_starts(client: Client, query: str) -> None:
    await problem(await client.get(f"{SSE}?{query}"), 400)


async def test_a_quiet_stream_gets_a_comment_every_heartbeat(
    aiohttp_client: AiohttpClient, database_url: str
) -> None:
    client = await serve(aiohttp_client, database_url, ws_heartbeat=0.2)
    stream = await EventStreamListener.connect(client)
    await stream.reach(0)
    await asyncio.sleep(1.0)
    assert stream.comments >= 2
    assert stream.open
    await stream.close()


async def test_a_client_that_leaves_a_quiet_stream_is_let_go(
    aiohttp_client: AiohttpClient, database_url: str
) -> None:
    client = await serve(aiohttp_client, database_url, ws_heartbeat=0.2)
    stream = await EventStreamListener.connect(client)
    await stream.reach(0)
    subscribers = client.app[SUBSCRIBERS]
    assert subscribers.count("sse") == 1
    await stream.close()
    await eventually(lambda: subscribers.count("sse") == 0, 5, "the server lets the stream go")


async def test_shutdown_ends_every_event_stream(
    aiohttp_client: AiohttpClient, database_url: str
) -> None:
    client = await serve(aiohttp_client, database_url)
    streams = [await EventStreamListener.connect(client) for _ in range(3)]
    await asyncio.gather(*(s.reach(0) for s in streams))
    await client.app[SUBSCRIBERS].close_all()
    for stream in streams:
        await stream.ended(within=5)
    assert len(client.app[SUBSCRIBERS]) == 0
