"""PostgreSQL goes away under a running ``run.py serve``, then comes back; nobody restarts it."""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import asyncpg
import pytest

from infrastructure import bootstrap
from infrastructure.envelopes import head
from infrastructure.log_reader import QUIET
from tests.faults.conftest import StartServer
from tests.faults.private_postgres import PrivatePostgres
from tests.faults.seeding import outgrowing_socket_buffers, seed_bulky
from tests.support.answers import Answer, ask
from tests.support.servers import ServerProcess
from tests.support.shop import FUNKOS, decode, funko_fields, unique
from tests.support.stalled_peers import tiny_socket
from tests.support.streams import (
    CAUGHT_UP,
    Listener,
    check_stream,
    listen_backends,
    log_positions,
    stream_path,
)
from tests.support.tokens import ADMIN, AUDITOR
from tests.support.waiting import eventually

BOUND = 5.0  # seconds within which every request is answered while PostgreSQL is away
RECOVERY = 15.0  # seconds for the server to notice PostgreSQL is back (its retries back off)
PROBLEM = "application/problem+json"
Fault = Callable[[PrivatePostgres], None]
# How PostgreSQL goes away, and how it comes back.
OUTAGES: dict[str, tuple[Fault, Fault]] = {
    # An operator's fast shutdown: sessions end, connecting is refused at once.
    "stopped": (PrivatePostgres.stop, PrivatePostgres.start),
    # A hung host: connections stay open and connecting "succeeds", but nothing answers.
    "frozen": (PrivatePostgres.freeze, PrivatePostgres.thaw),
}


async def refused_upgrade(session: aiohttp.ClientSession, path: str) -> Answer:
    """A WebSocket handshake the server must refuse: what it answered instead of 101."""
    started = asyncio.get_running_loop().time()
    try:
        ws = await session.ws_connect(path)
    except aiohttp.WSServerHandshakeError as error:
        elapsed = asyncio.get_running_loop().time() - started
        headers = error.headers
        media_type = headers.get("Content-Type", "").split(";")[0] if headers else ""
        return Answer(error.status, media_type, error.message, elapsed)
    await ws.close()
    raise AssertionError(f"{path}: upgraded while PostgreSQL is away")


def requests_while_away(
    session: aiohttp.ClientSession, funko_id: str, tag: str
) -> dict[str, Coroutine[Any, Any, Answer]]:
    """More requests than the pool has connections: commands, queries, auditor reads, a
    subscription that asks for the log, readiness."""
    item = f"{FUNKOS}/{funko_id}"
    ndjson = {**AUDITOR, "Accept": "application/x-ndjson"}
    requests: dict[str, Coroutine[Any, Any, Answer]] = {
        f"POST #{n}": ask(
            session, "POST", FUNKOS, json=funko_fields(name=f"{tag}-{n}"), headers=ADMIN
        )
        for n in range(4)
    }
    for n in range(2):
        requests[f"PATCH #{n}"] = ask(session, "PATCH", item, json={"stock": 99}, headers=ADMIN)
    for n in range(12):
        requests[f"GET /funkos #{n}"] = ask(session, "GET", FUNKOS, params={"size": 5})
    requests["GET /funkos/{id}"] = ask(session, "GET", item)
    requests["GET history"] = ask(session, "GET", f"{item}/history", headers=AUDITOR)
    requests["GET /events"] = ask(session, "GET", "/api/v1/events", headers=AUDITOR)
    requests["GET /events NDJSON"] = ask(session, "GET", "/api/v1/events", headers=ndjson)
    requests["WS after=0"] = refused_upgrade(session, stream_path(after=0))
    requests["GET /ready"] = ask(session, "GET", "/ready")
    return requests


async def until_ready(session: aiohttp.ClientSession) -> None:
    """Wait for /ready to say 200 again, as a load balancer would."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECOVERY
    while (await ask(session, "GET", "/ready")).status != 200:
        assert loop.time() < deadline, f"/ready not 200 within {RECOVERY} s of PostgreSQL's return"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("outage", OUTAGES)
async def test_while_postgres_is_away_requests_get_503_within_5_s_and_change_nothing(
    outage: str, private_postgres: PrivatePostgres, stoppable_database: str, servers: StartServer
) -> None:
    go_away, come_back = OUTAGES[outage]
    server = await servers(stoppable_database)
    patience = aiohttp.ClientTimeout(total=3 * BOUND)  # fail, rather than hang, the test
    async with aiohttp.ClientSession(base_url=server.base, timeout=patience) as session:
        created = await ask(session, "POST", FUNKOS, json=funko_fields(), headers=ADMIN)
        assert created.status == 201, created
        funko_id, tag = created.json()["id"], unique("away")
        go_away(private_postgres)
        try:
            for _ in range(2):  # the second round meets the pool as the first one left it
                requests = requests_while_away(session, funko_id, tag)
                answered = await asyncio.gather(*requests.values())
                answers = dict(zip(requests, answered, strict=True))
                slow = {name: a.seconds for name, a in answers.items() if a.seconds > BOUND}
                assert not slow, f"answered later than {BOUND} s: {slow}"
                wrong = {
                    name: (a.status, a.text[:120])
                    for name, a in answers.items()
                    if a.status != 503 or a.content_type != PROBLEM
                }
                assert not wrong, f"not 503 problem+json: {wrong}"
                health = await ask(session, "GET", "/health")
                assert (health.status, health.seconds < BOUND) == (200, True), health
        finally:
            come_back(private_postgres)

        await until_ready(session)
        again = await ask(session, "POST", FUNKOS, json=funko_fields(), headers=ADMIN)
        assert again.status == 201, again
        amended = await ask(
            session, "PATCH", f"{FUNKOS}/{funko_id}", json={"stock": 5}, headers=ADMIN
        )
        assert (amended.status, amended.json()["version"]) == (200, 2), amended
        refused = await ask(session, "GET", FUNKOS, params={"name": tag})
        assert refused.json()["totalElements"] == 0, "a write answered 503 was applied"
        history = await ask(session, "GET", f"{FUNKOS}/{funko_id}/history", headers=AUDITOR)
        assert [e["version"] for e in history.json()["events"]] == [1, 2]
        assert [e["changes"] for e in history.json()["events"]][1:] == [{"stock": 5}]


class HeldReplay:
    """A subscriber replaying the log that reads nothing after its first frame until released,
    so the server is left mid-replay with the socket's buffers full."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.released = asyncio.Event()
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for message in self.ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                self.frames.append(decode(message.data))
            await self.released.wait()

    @property
    def positions(self) -> list[int]:
        return [f["position"] for f in self.frames if f["type"] != CAUGHT_UP]

    async def ended(self, within: float) -> int | None:
        await asyncio.wait_for(asyncio.shield(self._task), within)
        return self.ws.close_code


async def test_in_an_outage_live_subscribers_stay_a_replay_gets_1011_and_all_resume_exactly_once(
    private_postgres: PrivatePostgres, stoppable_database: str, servers: StartServer
) -> None:
    await seed_bulky(stoppable_database, outgrowing_socket_buffers())
    server = await servers(stoppable_database)
    tiny = aiohttp.TCPConnector(socket_factory=tiny_socket)
    async with (
        aiohttp.ClientSession(base_url=server.base) as session,
        aiohttp.ClientSession(base_url=server.base, connector=tiny) as slow_session,
    ):
        live = Listener(await session.ws_connect(stream_path()))
        await live.reach(0)
        replaying = HeldReplay(await slow_session.ws_connect(stream_path(after=0)))
        await eventually(lambda: len(replaying.frames) > 0, BOUND, "the replay under way")

        private_postgres.stop()
        try:
            replaying.released.set()
            # The replay needs the log's next page: it is told 1011, to come back later.
            assert await replaying.ended(within=20) == 1011, "the replay was not closed 1011"
            # A live-only subscriber needs nothing from the log to join.
            joining = Listener(await session.ws_connect(stream_path()))
            await joining.reach(0)
            assert live.open, "a live subscriber was dropped while it needed nothing"
        finally:
            private_postgres.start()

        await until_ready(session)
        resumed = Listener(await session.ws_connect(stream_path(after=replaying.positions[-1])))
        for _ in range(3):
            written = await ask(session, "POST", FUNKOS, json=funko_fields(), headers=ADMIN)
            assert written.status == 201, written
        async with bootstrap.running(stoppable_database) as parts:  # for the log, as it is
            pool = parts.pool
            await eventually_listening(pool, server)
            late = Listener(await session.ws_connect(stream_path()))
            await late.reach(0)
            newest = await head(pool)
            await asyncio.gather(*(s.reach(newest) for s in (live, joining, resumed)))
            # With LISTEN back, a write reaches subscribers well before the reader's quiet look.
            last = await ask(session, "POST", FUNKOS, json=funko_fields(), headers=ADMIN)
            assert last.status == 201, last
            newest = await head(pool)
            await asyncio.gather(
                *(s.reach(newest, within=QUIET / 2) for s in (live, joining, resumed, late))
            )
            for listener in (live, joining, late):
                await check_stream(listener, pool, None, newest)
            assert [f for f in replaying.frames if f["type"] == CAUGHT_UP] == []
            assert replaying.positions + resumed.positions == await log_positions(pool, 0, newest)
            await check_stream(resumed, pool, replaying.positions[-1], newest)


async def eventually_listening(pool: asyncpg.Pool, server: ServerProcess) -> None:
    """Wait for the LISTEN connections of the server's workers to be back on the database."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECOVERY
    while len(await listen_backends(pool)) != len(server.workers()):
        assert loop.time() < deadline, f"no LISTEN connection within {RECOVERY} s"
        await asyncio.sleep(0.1)
