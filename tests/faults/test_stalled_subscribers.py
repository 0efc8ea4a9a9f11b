"""Subscribers that stop reading, against ``run.py serve`` as shipped (uvloop): each is cut off,
counted as 4008, and none holds up a SIGTERM."""

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from tests.faults.conftest import StartServer
from tests.faults.seeding import seed_bulky
from tests.support.answers import metric
from tests.support.servers import ServerProcess
from tests.support.stalled_peers import StalledPeer
from tests.support.streams import Listener, subscribe
from tests.support.waiting import eventually
from web.subscribers import CLOSE_TIMEOUT

PEERS = 20
SEND_TIMEOUT = 1.0
STALLING = 600  # ≈780 KB of envelopes: more than a peer's socket buffers can hold
QUICK_EXIT = 1.5  # seconds from SIGTERM to exit with only stalled peers to say goodbye to


@asynccontextmanager
async def stalled_beside_a_reader(
    fresh_database: str, server: ServerProcess, transport: str = "ws"
) -> AsyncIterator[tuple[aiohttp.ClientSession, Listener, list[StalledPeer]]]:
    """PEERS subscribers that stop reading beside one that reads, on ``transport`` ("ws" or
    "sse"), once more events than the stalled ones can take have been written and the reader
    has them all."""
    async with aiohttp.ClientSession(base_url=server.base) as session:
        normal = await subscribe(transport, session)
        open_stalled = StalledPeer.connect if transport == "ws" else StalledPeer.event_stream
        peers = [await open_stalled("127.0.0.1", server.port) for _ in range(PEERS)]
        try:
            await normal.reach(0)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while await metric(session, f"funko_{transport}_subscribers") != PEERS + 1:
                assert loop.time() < deadline, "the subscribers never all connected"
                await asyncio.sleep(0.05)
            await seed_bulky(fresh_database, STALLING)
            await normal.count(STALLING, within=5)
            yield session, normal, peers
        finally:
            for peer in peers:
                peer.sock.close()
            await normal.close()


async def test_stalled_subscribers_are_dropped_counted_and_the_others_served(
    fresh_database: str, servers: StartServer
) -> None:
    server = await servers(fresh_database, SEND_TIMEOUT=str(SEND_TIMEOUT), WORKERS="1")
    async with stalled_beside_a_reader(fresh_database, server) as (session, normal, peers):
        limit = SEND_TIMEOUT + CLOSE_TIMEOUT + 3
        await eventually(lambda: all(p.dropped() for p in peers), limit, "all peers dropped")
        assert normal.open, "a subscriber that reads stays"
        assert await metric(session, "funko_ws_subscribers") == 1
        assert await metric(session, "funko_ws_closes_total", code="4008") == PEERS


async def test_sigterm_does_not_wait_on_subscribers_that_stopped_reading(
    fresh_database: str, servers: StartServer
) -> None:
    # One worker: the metrics are each process's own. The default send timeout: no 4008 meanwhile.
    server = await servers(fresh_database, WORKERS="1")
    async with stalled_beside_a_reader(fresh_database, server) as (_, normal, peers):
        assert not any(p.dropped() for p in peers)
        server.signal(signal.SIGTERM)
        started = asyncio.get_running_loop().time()
        assert await normal.ended(within=5) == 1001
        assert await server.exited(within=30) == 0, server.log_tail()
        took = asyncio.get_running_loop().time() - started
        assert took < QUICK_EXIT, f"SIGTERM took {took:.1f} s"
        assert all(p.dropped() for p in peers)


async def test_stalled_event_stream_readers_are_dropped_and_the_others_served(
    fresh_database: str, servers: StartServer
) -> None:
    server = await servers(fresh_database, SEND_TIMEOUT=str(SEND_TIMEOUT), WORKERS="1")
    async with stalled_beside_a_reader(fresh_database, server, "sse") as (session, normal, peers):
        limit = SEND_TIMEOUT + CLOSE_TIMEOUT + 3
        await eventually(lambda: all(p.dropped() for p in peers), limit, "all peers dropped")
        assert normal.open, "a reader that reads stays"
        assert await metric(session, "funko_sse_subscribers") == 1
