"""``run.py serve`` stopped (SIGTERM) while a consumer group's member holds an event: the member
hears 1001, the server exits 0 having given the event back, and the next member, on the next
server, gets it at once (not after a lease runs out), one attempt more."""

import asyncio
import signal

import aiohttp

from tests.faults.conftest import StartServer
from tests.support.answers import ask
from tests.support.shop import FUNKOS, funko_fields, unique
from tests.support.tokens import ADMIN, CONSUMER
from web.serving import SHUTDOWN_TIMEOUT

EXIT_WITHIN = 2 * SHUTDOWN_TIMEOUT + 3.0
LEASE = 10.0  # group_delivery's: the next member must not have had to wait for it


async def test_sigterm_says_1001_to_members_and_gives_their_events_back_at_once(
    fresh_database: str, servers: StartServer
) -> None:
    name = unique("drain").lower()
    server = await servers(fresh_database)
    async with aiohttp.ClientSession(base_url=server.base) as session:
        created = await ask(session, "PUT", f"/api/v1/groups/{name}", json={}, headers=ADMIN)
        assert created.status == 201, created
        member = await session.ws_connect(f"/ws/v1/groups/{name}", headers=CONSUMER)
        funko = await ask(session, "POST", FUNKOS, json=funko_fields(), headers=ADMIN)
        assert funko.status == 201, funko
        held = await member.receive_json(timeout=5)
        server.signal(signal.SIGTERM)
        goodbye = await member.receive(timeout=EXIT_WITHIN)
        assert (goodbye.type, goodbye.data) == (aiohttp.WSMsgType.CLOSE, 1001)
    assert await server.exited(EXIT_WITHIN) == 0

    restarted = await servers(fresh_database)
    async with aiohttp.ClientSession(base_url=restarted.base) as session:
        loop = asyncio.get_running_loop()
        started = loop.time()
        member = await session.ws_connect(f"/ws/v1/groups/{name}", headers=CONSUMER)
        again = await member.receive_json(timeout=LEASE / 2)
        assert loop.time() - started < LEASE / 2  # given back at shutdown: no lease to outlive
        assert (again["position"], again["attempt"]) == (held["position"], 2)
        await member.send_json({"type": "ACK", "positions": [again["position"]]})
        for _ in range(50):
            shown = (await ask(session, "GET", f"/api/v1/groups/{name}", headers=ADMIN)).json()
            if shown["checkpoint"] == held["position"]:
                break
            await asyncio.sleep(0.1)
        assert (shown["checkpoint"], shown["lag"], shown["inFlight"]) == (
            held["position"],
            0,
            0,
        )
