"""The stream across a lost LISTEN connection, a server shutdown, and silent peers."""

import asyncio

import asyncpg
import pytest
from pytest_aiohttp import AiohttpClient

from infrastructure.envelopes import head
from infrastructure.log_reader import QUIET
from tests.e2e.rest import Client, create
from tests.e2e.streams_kit import serve, write_history
from tests.support.shop import create_bulky
from tests.support.streams import Listener, check_stream, listen_backends
from tests.support.waiting import eventually
from web.keys import READER, SERVICE

pytestmark = pytest.mark.every_loop


async def listening_server(
    aiohttp_client: AiohttpClient, database_url: str, pool: asyncpg.Pool
) -> tuple[Client, int, int]:
    """A server whose reader listens: the server, its LISTEN backend's pid, the log's head."""
    client = await serve(aiohttp_client, database_url)
    await eventually(client.app[READER].listening.is_set, 5, "the reader listens")
    (backend,) = await listen_backends(pool)
    return client, backend, await head(pool)


async def test_subscribers_miss_nothing_when_the_listen_connection_is_killed_mid_stream(
    aiohttp_client: AiohttpClient, database_url: str, pool: asyncpg.Pool
) -> None:
    client, killed, start = await listening_server(aiohttp_client, database_url, pool)
    reader = client.app[READER]
    live, replay = await Listener.connect(client), await Listener.connect(client, after=start)
    await asyncio.gather(live.reach(start), replay.reach(start))

    writers = asyncio.gather(*(write_history(client, 15, pace=0.01) for _ in range(4)))
    await asyncio.sleep(0.05)
    assert await pool.fetchval("SELECT pg_terminate_backend($1)", killed)
    await eventually(lambda: not reader.listening.is_set(), 3, "the reader notices")
    await writers
    await eventually(reader.listening.is_set, 5, "the reader listens again")
    assert (await listen_backends(pool)) not in ([], [killed])
    end = await head(pool)
    for listener in (live, replay):
        await listener.reach(end)
        await check_stream(listener, pool, None if listener is live else start, end)

    # The new LISTEN connection wakes the reader: well before its quiet-spell look.
    await create(client)
    newest = await head(pool)
    await live.reach(newest, within=QUIET / 3)
    await check_stream(live, pool, None, newest)


async def test_a_replay_that_overtakes_a_deaf_reader_sends_nothing_twice(
    aiohttp_client: AiohttpClient, database_url: str, pool: asyncpg.Pool
) -> None:
    client, killed, start = await listening_server(aiohttp_client, database_url, pool)
    reader = client.app[READER]
    live = await Listener.connect(client)
    await live.reach(start)
    await create_bulky(client.app[SERVICE], 5)
    heard = await head(pool)
    await eventually(lambda: reader.position == heard, 3, "the reader reads the first ones")
    assert await pool.fetchval("SELECT pg_terminate_backend($1)", killed)
    await eventually(lambda: not reader.listening.is_set(), 3, "the reader notices")
    await create_bulky(client.app[SERVICE], 20)  # no notification reaches the reader
    written = await head(pool)
    replay = await Listener.connect(client, after=start)  # reads the log past the reader
    await replay.reach(written)
    assert reader.position < written, "the replay went live ahead of the reader"

    await eventually(lambda: reader.position == written, 5, "the reader reads them too")
    await create(client)
    newest = await head(pool)
    for listener, after in ((live, None), (replay, start)):
        await listener.reach(newest)
        await check_stream(listener, pool, after, newest)


async def test_shutting_down_closes_every_subscriber_with_going_away(
    aiohttp_client: AiohttpClient, database_url: str, pool: asyncpg.Pool
) -> None:
    client = await serve(aiohttp_client, database_url)
    start = await head(pool)
    listeners = [await Listener.connect(client), await Listener.connect(client, after=0)]
    await asyncio.gather(*(listener.reach(start) for listener in listeners))
    await client.server.close()
    codes = [await listener.ended(within=5) for listener in listeners]
    assert codes == [1001, 1001]


async def test_a_peer_that_never_answers_pings_is_dropped(
    aiohttp_client: AiohttpClient, database_url: str, pool: asyncpg.Pool
) -> None:
    client = await serve(aiohttp_client, database_url, ws_heartbeat=0.5)
    silent = Listener(await client.ws_connect("/ws/v1/funkos", autoping=False))
    answering = await Listener.connect(client)
    await asyncio.gather(silent.reach(0), answering.reach(0))
    await silent.ended(within=3)
    assert silent.pings >= 1, "the server pinged"

    await asyncio.sleep(1.0)  # two more heartbeats
    assert answering.open, "a peer that answers stays"
    await create(client)
    await answering.reach(await head(pool))
    await eventually(lambda: client.app[READER].subscribers == 1, 2, "the silent one let go")
