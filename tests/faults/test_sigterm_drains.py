"""``run.py serve`` told to stop (SIGTERM) while requests and subscribers are in flight."""

import asyncio
import json
import signal

import aiohttp
import asyncpg

from tests.faults.conftest import StartServer
from tests.faults.seeding import outgrowing_socket_buffers, seed_bulky
from tests.support.answers import Answer, ask
from tests.support.commits import blocked_commit
from tests.support.shop import FUNKOS, funko_fields, unique
from tests.support.stalled_peers import tiny_socket
from tests.support.streams import Listener, stream_path
from tests.support.tokens import ADMIN, AUDITOR
from tests.support.waiting import eventually
from web.serving import SHUTDOWN_TIMEOUT

WRITES = 12
HELD = 0.5  # seconds the writes stay blocked after SIGTERM
# From SIGTERM to the exit: aiohttp waits for handlers up to run.py's shutdown timeout, cancels
# what is left and waits as long again; then the pool closes. And some slack.
EXIT_WITHIN = 2 * SHUTDOWN_TIMEOUT + 3.0


class HeldStream:
    """GET /events as NDJSON: its first line read at once, the rest once released."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.started, self.released = asyncio.Event(), asyncio.Event()
        self.task = asyncio.create_task(self._read(session))

    async def _read(self, session: aiohttp.ClientSession) -> tuple[int, str]:
        headers = {**AUDITOR, "Accept": "application/x-ndjson"}
        async with session.get("/api/v1/events", headers=headers) as response:
            first = await response.content.readline()
            self.started.set()
            await self.released.wait()
            return response.status, (first + await response.content.read()).decode()


class SentRequests:
    """Counts the requests a session has sent (their heads; small bodies follow at once)."""

    def __init__(self) -> None:
        self.count = 0
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_headers_sent.append(self._sent)

    async def _sent(self, *_: object) -> None:
        self.count += 1


async def test_sigterm_lets_requests_in_flight_finish_says_1001_to_subscribers_and_exits_0(
    fresh_database: str, servers: StartServer
) -> None:
    # An NDJSON answer longer than the socket buffers: it is still being written when SIGTERM
    # comes, as long as its reader holds back.
    await seed_bulky(fresh_database, outgrowing_socket_buffers())
    server = await servers(fresh_database)
    names = [unique("drained") for _ in range(WRITES)]
    holder, watcher = await asyncpg.connect(fresh_database), await asyncpg.connect(fresh_database)
    tiny = aiohttp.TCPConnector(socket_factory=tiny_socket)
    sent = SentRequests()
    try:
        async with (
            aiohttp.ClientSession(base_url=server.base, trace_configs=[sent.trace]) as session,
            aiohttp.ClientSession(base_url=server.base, connector=tiny) as slow_session,
        ):
            existing = await ask(session, "POST", FUNKOS, json=funko_fields(), headers=ADMIN)
            assert existing.status == 201, existing
            logged = await watcher.fetchval("SELECT position FROM log_head")
            listeners = [Listener(await session.ws_connect(stream_path(after=0)))]
            listeners.append(Listener(await session.ws_connect(stream_path())))
            await asyncio.gather(*(listener.reach(logged) for listener in listeners))
            # One reader holds back until SIGTERM has come, the other for good.
            stream, stalled = HeldStream(slow_session), HeldStream(slow_session)
            await asyncio.wait_for(stream.started.wait(), 5)
            await asyncio.wait_for(stalled.started.wait(), 5)

            # Hold the log head's lock: every write now waits in the server, in flight.
            commit_lock = holder.transaction()
            await commit_lock.start()
            await holder.execute("SELECT position FROM log_head FOR UPDATE")
            item = f"{FUNKOS}/{existing.json()['id']}"
            writes = [
                ask(session, "POST", FUNKOS, json=funko_fields(name=name), headers=ADMIN)
                for name in names
            ] + [ask(session, "PATCH", item, json={"stock": n}, headers=ADMIN) for n in range(2)]
            already_sent = sent.count
            pending: list[asyncio.Task[Answer]] = [asyncio.create_task(w) for w in writes]
            await blocked_commit(fresh_database)
            await eventually(lambda: sent.count - already_sent == len(pending), 5, "all sent")
            await asyncio.sleep(0.2)  # the server reads them; they queue behind the lock

            server.signal(signal.SIGTERM)
            terminated = asyncio.get_running_loop().time()
            codes = [await listener.ended(within=5) for listener in listeners]
            await asyncio.sleep(HELD)
            assert not any(w.done() for w in pending), "a write ended before its commit"
            await commit_lock.rollback()
            stream.released.set()
            answers = await asyncio.gather(*pending)
            status, ndjson = await stream.task
            exit_code = await server.exited(within=EXIT_WITHIN + 60)
            exited_after = asyncio.get_running_loop().time() - terminated
            stalled.task.cancel()
        stored = {r[0] for r in await watcher.fetch("SELECT data->>'name' FROM events")}
        positions = [
            r[0]
            for r in await watcher.fetch(
                "SELECT position FROM events WHERE position <= $1 ORDER BY 1", logged
            )
        ]
    finally:
        await holder.close()
        await watcher.close()

    assert codes == [1001, 1001], "subscribers are told the server is going away"
    assert [a.status for a in answers] == [201] * WRITES + [200, 200], answers
    assert sorted(a.json()["version"] for a in answers[WRITES:]) == [2, 3]
    assert set(names) <= stored, "an answered write is not in the log"
    assert status == 200
    lines = ndjson.split("\n")
    assert lines[-1] == "", "the stream ends with its last line whole"
    assert [json.loads(line)["position"] for line in lines[:-1]] == positions
    assert exit_code == 0, server.log_tail()
    assert exited_after < EXIT_WITHIN, f"a stalled reader held the exit up {exited_after:.1f} s"
