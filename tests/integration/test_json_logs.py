"""The server's logs as an operator collects them: JSON lines, each naming its request."""

import asyncio
import io
import json
import logging
import os
import socket
import sys

import aiohttp

from infrastructure import json_logs
from tests.integration.command_line import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_line_logged_while_a_request_is_handled_carries_its_id() -> None:
    stream = io.StringIO()
    log = logging.getLogger("funko.test")
    log.addHandler(json_logs.json_handler(stream))
    token = json_logs.REQUEST_ID.set("req-7")
    try:
        log.warning("inside %s", "a request")
    finally:
        json_logs.REQUEST_ID.reset(token)
    log.warning("outside")

    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["message"] == "inside a request" and inside["request_id"] == "req-7"
    assert inside["level"] == "WARNING" and inside["logger"] == "funko.test"
    assert inside["timestamp"].endswith("+00:00")
    assert outside["request_id"] is None


async def test_the_server_logs_json_lines_naming_each_request(database_url: str) -> None:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "run.py",
        "serve",
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
            for _ in range(100):  # until it listens
                try:
                    async with session.get("/health", headers={"X-Request-Id": "ops-1"}) as r:
                        assert r.headers["X-Request-Id"] == "ops-1"
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            async with session.get("/api/v1/funkos/not-a-uuid") as response:
                assigned = response.headers["X-Request-Id"]
                assert response.status == 400
    finally:
        server.terminate()
        _, err = await asyncio.wait_for(server.communicate(), timeout=30)

    lines = [json.loads(line) for line in err.decode().splitlines() if line.strip()]
    access = {line["request_id"]: line for line in lines if line["logger"] == "aiohttp.access"}
    assert access["ops-1"]["status"] == 200 and access["ops-1"]["path"] == "/health"
    assert access[assigned]["status"] == 400
    keys = {"timestamp", "level", "logger", "message", "request_id"}
    assert all(keys <= set(line) for line in lines)
