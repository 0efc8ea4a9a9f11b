"""Slow and stalled subscribers: served from the log at their own pace, or cut off with 4008."""

import asyncio

import asyncpg
import pytest
from aiohttp import ClientSession, TCPConnector
from pytest_aiohttp import AiohttpClient

from infrastructure.envelopes import head
from tests.e2e.rest import Client
from tests.e2e.streams_kit import serve
from tests.support.shop import create_bulky
from tests.support.stalled_peers import StalledPeer, tiny_socket
from tests.support.streams import CAUGHT_UP, Listener, check_stream, log_positions, stream_path
from tests.support.waiting import eventually
from web.keys import READER, SERVICE

pytestmark = pytest.mark.every_loop

SEND_TIMEOUT = 1.0
STALLING = 600  # ≈780 KB of envelopes: more than a peer's socket buffers can hold
CLOSING = 4.0  # beyond the send timeout: to notice the stall, try a close, give up on it


async def test_a_slow_reader_with_a_small_buffer_still_gets_every_event_once_in_order(
    aiohttp_client: AiohttpClient, database_url: str, pool: asyncpg.Pool
) -> None:
    client = await serve(aiohttp_client, database_url, ws_buffer=8)
    start = await head(pool)
    async with ClientSession(connector=TCPConnector(socket_factory=tiny_socket)) as session:
        slow = [
            Listener(await session.ws_connect(client.make_url(stream_path(**q))), pace=0.002)
            for q in ({}, {"after": start})
        ]
        fast = await Listener.connect(client)
        await asyncio.gather(*(listener.reach(start) for listener in [*slow, fast]))
        # Big bursts: one read of the log offers more than the socket and buffer can take.
        await create_bulky(client.app[SERVICE], STALLING, burst=200)
        end = await head(pool)
        await fast.reach(end, within=5)
        for listener, after in zip(slow, (None, start), strict=True):
            await listener.reach(end, within=30)
            await check_stream(listener, pool, after, end)
            assert listener.positions == await log_positions(pool, start, end)
            await listener.close()
    await check_stream(fast, pool, None, end)


async def stall(client: Client, pool: asyncpg.Pool) -> tuple[StalledPeer, Listener, int]:
    """A peer that stops reading and a normal subscriber, both live from the returned position;
    then more events than the peer can take."""
    reader = client.app[READER]
    peer = await StalledPeer.connect(client.host, client.server.port or 0)
    try:
        normal = await Listener.connect(client)
        await normal.reach(0)
        await eventually(lambda: reader.subscribers == 2, 2, "both subscribed")
        await create_bulky(client.app[SERVICE], STALLING)
        await normal.reach(await head(pool), within=SEND_TIMEOUT * 0.75)  # not held up
    except BaseException:
        peer.sock.close()  # or the server's shutdown waits for it
        raise
    return peer, normal, normal.caught_up[0]


async def test_a_stalled_subscriber_is_cut_off_and_can_resume_where_it_was(
    aiohttp_client: AiohttpClient, database_url: str, pool: asyncpg.Pool
) -> None:
    client = await serve(aiohttp_client, database_url, send_timeout=SEND_TIMEOUT)
    peer, normal, start = await stall(client, pool)
    reader = client.app[READER]
    try:
        await eventually(lambda: reader.subscribers == 1, SEND_TIMEOUT + CLOSING, "peer let go")
    finally:
        frames, code = await peer.read_to_end(within=5)
    await create_bulky(client.app[SERVICE], 5)
    newest = await head(pool)
    await normal.reach(newest)
    await check_stream(normal, pool, None, newest)

    assert frames[:1] in ([], [{"type": CAUGHT_UP, "position": start}]), frames[:1]
    positions = [f["position"] for f in frames[1:]]
    everything = await log_positions(pool, start, newest)
    assert positions == everything[: len(positions)], "what it got, it got in order"
    assert len(positions) < len(everything), "it was cut off before the end"
    assert code in (None, 4008), code  # the close frame, if the peer could still take it
    resumed = await Listener.connect(client, after=positions[-1] if positions else start)
    await resumed.reach(newest)
    assert resumed.positions == everything[len(positions) :]


async def test_a_stalled_subscriber_is_dropped_even_if_it_never_reads_again(
    aiohttp_client: AiohttpClient, database_url: str, pool: asyncpg.Pool
) -> None:
    client = await serve(aiohttp_client, database_url, send_timeout=SEND_TIMEOUT)
    peer, normal, _ = await stall(client, pool)
    try:
        limit = SEND_TIMEOUT + CLOSING
        await eventually(peer.dropped, limit, "the server drops the stalled connection")
        assert normal.open
    finally:
        await peer.read_to_end(within=5)
