"""10,000 WebSocket subscribers on one ``run.py serve`` worker (uvloop): they connect, each
receives every event once and in order, and they leave cleanly, the server serving on.

The subscribers are the bench's subscriber process (bench.wsclient: raw WebSocket clients in one
uvloop process), the only client here light enough for ten thousand connections.
"""

import asyncio
import json
import signal
import sys
from typing import Any

import aiohttp
import asyncpg

from tests.faults.conftest import StartServer
from tests.support.answers import ask, metric
from tests.support.cli import ROOT
from tests.support.shop import FUNKOS, funko_fields
from tests.support.tokens import ADMIN

SUBSCRIBERS = 10_000
WRITES = 5


async def line_of(proc: asyncio.subprocess.Process, within: float) -> dict[str, Any]:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), within)
    assert line, f"the subscriber process exited with {await proc.wait()}"
    document: dict[str, Any] = json.loads(line)
    return document


async def test_ten_thousand_subscribers_connect_receive_every_event_and_leave_cleanly(
    fresh_database: str, servers: StartServer
) -> None:
    server = await servers(fresh_database, WORKERS="1")
    options = {"host": "127.0.0.1", "port": server.port, "path": "/ws/v1/funkos"}
    options |= {"count": SUBSCRIBERS, "timing": False, "after": None, "transport": "ws"}
    clients = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.wsclient",
        json.dumps(options),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=1 << 20,
    )
    try:
        ready = await line_of(clients, 180)
        assert (ready["connected"], ready["failed"]) == (SUBSCRIBERS, 0), ready["error_samples"]
        async with aiohttp.ClientSession(base_url=server.base) as session:
            assert await metric(session, "funko_ws_subscribers") == SUBSCRIBERS
            for _ in range(WRITES):
                answer = await ask(session, "POST", FUNKOS, json=funko_fields(), headers=ADMIN)
                assert answer.status == 201, answer
            conn = await asyncpg.connect(fresh_database)
            try:
                rows = await conn.fetch("SELECT position FROM events ORDER BY position")
            finally:
                await conn.close()
            expected = [row[0] for row in rows]
            assert len(expected) == WRITES

            assert clients.stdin is not None
            clients.stdin.write(json.dumps({"expected": expected, "sent": []}).encode() + b"\n")
            await clients.stdin.drain()
            received = await line_of(clients, 120)
            assert received["exact"] == SUBSCRIBERS, received
            assert received["deliveries"] == SUBSCRIBERS * WRITES
            assert await asyncio.wait_for(clients.wait(), 30) == 0  # it closed every socket

            for _ in range(300):  # the server lets every subscriber go
                if await metric(session, "funko_ws_subscribers") == 0:
                    break
                await asyncio.sleep(0.1)
            assert await metric(session, "funko_ws_subscribers") == 0
            answer = await ask(session, "POST", FUNKOS, json=funko_fields(), headers=ADMIN)
            assert answer.status == 201, answer
        server.signal(signal.SIGTERM)
        assert await server.exited(within=15) == 0, server.log_tail()
    finally:
        if clients.returncode is None:
            clients.kill()
            await clients.wait()
