"""``run.py serve`` on several worker processes: one port, every worker serving, a dead worker
replaced, and SIGTERM stopping them all cleanly."""

import asyncio
import os
import signal

import aiohttp
import asyncpg

from tests.faults.conftest import StartServer
from tests.support.answers import ask
from tests.support.servers import ServerProcess
from tests.support.shop import FUNKOS, funko_fields
from tests.support.streams import listen_backends
from tests.support.tokens import ADMIN
from tests.support.waiting import eventually


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def listening(url: str) -> int:
    """How many LISTEN connections (one per worker) are open on the database."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    try:
        return len(await listen_backends(pool))
    finally:
        await pool.close()


async def every_worker_listens(server: ServerProcess, url: str, count: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while len(server.workers()) != count or await listening(url) != count:
        assert loop.time() < deadline, f"not {count} workers listening"
        await asyncio.sleep(0.1)


async def test_two_workers_share_the_port_and_sigterm_stops_both_cleanly(
    fresh_database: str, servers: StartServer
) -> None:
    server = await servers(fresh_database, WORKERS="2")
    await every_worker_listens(server, fresh_database, 2)
    workers = server.workers()
    async with aiohttp.ClientSession(base_url=server.base) as session:
        creates = [
            ask(session, "POST", FUNKOS, json=funko_fields(), headers=ADMIN) for _ in range(40)
        ]
        assert {a.status for a in await asyncio.gather(*creates)} == {201}

        server.signal(signal.SIGTERM)
        assert await server.exited(within=15) == 0, server.log_tail()
    for pid in workers:
        assert not alive(pid), f"worker {pid} outlived the server"
    log = server.log.read_text()
    for pid in workers:
        assert f"Worker exiting (pid: {pid})" in log
    assert await listening(fresh_database) == 0


async def test_a_worker_that_dies_is_replaced_and_the_port_keeps_serving(
    fresh_database: str, servers: StartServer
) -> None:
    server = await servers(fresh_database, WORKERS="2")
    await every_worker_listens(server, fresh_database, 2)
    killed = server.workers()[0]
    os.kill(killed, signal.SIGKILL)
    await eventually(lambda: killed not in server.workers(), 5, "the dead worker gone")
    await every_worker_listens(server, fresh_database, 2)
    async with aiohttp.ClientSession(base_url=server.base) as session:
        answers = await asyncio.gather(*(ask(session, "GET", "/ready") for _ in range(20)))
    assert {a.status for a in answers} == {200}
