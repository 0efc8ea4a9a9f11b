"""Client mistakes in ``run.py serve``'s log: at most one short WARNING or INFO line each, never
an ERROR or a traceback, so nobody can flood the log; a bug in the server still logs ERROR with
its traceback.

Spoken over raw sockets: a client library would refuse to send most of this.
"""

import asyncio
import json
import logging
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.http_exceptions import BadStatusLine
from pytest_aiohttp import AiohttpClient

from tests.faults.conftest import StartServer
from tests.faults.seeding import outgrowing_socket_buffers, seed_bulky
from tests.support.apps import app_for
from tests.support.servers import ServerProcess
from tests.support.tokens import AUDITOR
from web.server_log import ServerLog

PROMPTLY = 5.0  # seconds
QUIET = 0.4  # seconds without a new log line: the server has logged what it will
BRIEF = 300  # characters: one line an operator reads at a glance
Event = Callable[[int], Awaitable[None]]


async def refused(port: int, head: bytes) -> None:
    """Send a request head and read the server's answer to its end."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        async with asyncio.timeout(PROMPTLY):
            writer.write(head + b"\r\n\r\n")
            await writer.drain()
            answer = await reader.read()
        assert answer[:12].split(b" ")[1].startswith(b"4"), answer[:200]
    finally:
        writer.close()


def malformed(head: bytes) -> Event:
    return lambda port: refused(port, head)


async def reset_after_first_bytes(port: int, head: bytes) -> None:
    """Ask for ``head``'s answer, read its start, then reset the connection (SO_LINGER 0)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    async with asyncio.timeout(PROMPTLY):
        writer.write(head + b"\r\n\r\n")
        assert (await reader.readline()).startswith(b"HTTP/1.1 200"), "no answer under way"
        await reader.readexactly(2048)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def reset_mid_answer(head: bytes) -> Event:
    return lambda port: reset_after_first_bytes(port, head)


async def body_cut_short(port: int) -> None:
    """Announce a body, send part of it, and hang up."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /api/v1/funkos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"name": '
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()


def _stream_head() -> bytes:
    token = AUDITOR["Authorization"]
    return (
        f"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: application/x-ndjson\r\n"
        f"Authorization: {token}"
    ).encode()


CLIENT_MISTAKES: dict[str, tuple[Event, str]] = {
    "a malformed request line": (malformed(b"GET / HTTP/1.1garbage\r\nHost: x"), "WARNING"),
    "a header line with no colon": (malformed(b"GET / HTTP/1.1\r\nHost: x\r\nNoColon"), "WARNING"),
    "a non-token character in a header name": (
        malformed(b"GET / HTTP/1.1\r\nHost: x\r\nX(bad): 1"),
        "WARNING",
    ),
    "a bad Content-Length": (
        malformed(b"POST /api/v1/funkos HTTP/1.1\r\nHost: x\r\nContent-Length: ten"),
        "WARNING",
    ),
    "an over-long request line": (
        malformed(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x"),
        "WARNING",
    ),
    "a reset while the OpenAPI document is sent": (
        reset_mid_answer(b"GET /api/openapi.json HTTP/1.1\r\nHost: x"),
        "INFO",
    ),
    "a reset while the log streams as NDJSON": (reset_mid_answer(_stream_head()), "INFO"),
    "a body cut short": (body_cut_short, "INFO"),
}


class LogInTurns:
    """The JSON lines a server has logged, taken in turns: what each client mistake caused."""

    def __init__(self, server: ServerProcess) -> None:
        self.path, self.offset = server.log, 0

    async def settled(self) -> list[dict[str, Any]]:
        """The lines logged since the last call, once the log has been quiet for a while."""
        size = await self._quiet()
        with self.path.open("rb") as log:
            log.seek(self.offset)
            text = log.read(size - self.offset).decode(errors="replace")
        self.offset = size
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    async def _quiet(self) -> int:
        """The log's size once it has not grown for ``QUIET`` seconds."""
        size = self.path.stat().st_size
        while True:
            await asyncio.sleep(QUIET)
            grown = self.path.stat().st_size
            if grown == size:
                return size
            size = grown


def loud_or_long(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines a flood would be made of: errors, tracebacks, more than a glance's worth."""
    return [
        line
        for line in lines
        if line["level"] in ("ERROR", "CRITICAL")
        or "exc_info" in line
        or "Traceback" in json.dumps(line)
        or "\n" in line["message"]
        or len(line["message"]) > BRIEF
    ]


async def test_client_mistakes_log_at_most_one_short_line_each_and_no_traceback(
    fresh_database: str, servers: StartServer
) -> None:
    # An NDJSON answer longer than the socket buffers is still being written at the reset.
    await seed_bulky(fresh_database, outgrowing_socket_buffers())
    server = await servers(fresh_database)
    log = LogInTurns(server)
    await log.settled()
    flooding: dict[str, list[dict[str, Any]]] = {}
    for mistake, (event, level) in CLIENT_MISTAKES.items():
        await event(server.port)
        lines = await log.settled()
        told = [line for line in lines if line["logger"] == "aiohttp.server"]
        if loud_or_long(lines) or len(told) > 1 or any(t["level"] != level for t in told):
            flooding[mistake] = lines
    assert flooding == {}
    assert server.running


async def _breaks_mid_answer(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    await response.write(b"partial")
    raise RuntimeError("a bug in the server")


async def test_a_bug_mid_answer_still_logs_an_error_with_its_traceback(
    aiohttp_client: AiohttpClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_for(database_url)
    app.router.add_get("/broken", _breaks_mid_answer)
    client = await aiohttp_client(app)
    with caplog.at_level(logging.INFO, logger="aiohttp.server"):
        async with client.get("/broken") as response:
            with pytest.raises(aiohttp.ClientPayloadError):  # aiohttp cuts the answer short
                await response.read()
    [logged] = [record for record in caplog.records if record.name == "aiohttp.server"]
    assert logged.levelno == logging.ERROR, caplog.text
    assert logged.exc_info is not None and isinstance(logged.exc_info[1], RuntimeError)


@pytest.mark.parametrize(
    ("error", "level"),
    [
        (BadStatusLine("GET / HTTP/1.1garbage"), logging.WARNING),
        (ConnectionResetError(104, "Connection reset by peer"), logging.INFO),
        (ConnectionError("Connection lost"), logging.INFO),  # a write waiting on the client
        (asyncio.CancelledError(), logging.INFO),
        (ConnectionRefusedError(111, "Connection refused"), logging.ERROR),  # ours, outbound
        (RuntimeError("a bug in the server"), logging.ERROR),
    ],
)
def test_the_server_log_keeps_tracebacks_for_what_the_server_caused(
    error: BaseException, level: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="aiohttp.server"):
        ServerLog().exception("Error handling request from %s", "127.0.0.1", exc_info=error)
    [logged] = caplog.records
    assert logged.levelno == level and logged.getMessage().startswith("Error handling request")
    assert (logged.exc_info is not None) == (level == logging.ERROR)
