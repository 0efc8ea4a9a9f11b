"""Clients that send requests and never read the answers, against ``run.py serve`` as shipped:
each connection is dropped once its answer has waited the send timeout, the others served."""

import asyncio
import socket

import aiohttp

from tests.faults.conftest import StartServer
from tests.faults.seeding import outgrowing_socket_buffers, seed_bulky
from tests.support.answers import ask
from tests.support.servers import ServerProcess
from tests.support.stalled_peers import StalledPeer, tiny_socket
from tests.support.tokens import AUDITOR
from tests.support.waiting import eventually

SEND_TIMEOUT = 1.0
DROPPED_WITHIN = SEND_TIMEOUT + 5.0  # and the time to fill the buffers on the way
PIPELINED = 300


async def connected(server: ServerProcess) -> StalledPeer:
    """A client socket with small buffers, connected, that will read nothing."""
    sock = tiny_socket((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    return StalledPeer(sock)


async def send_all(peer: StalledPeer, data: bytes) -> None:
    """Send ``data``; the server stops reading once its answers back up, so this may never end."""
    await asyncio.get_running_loop().sock_sendall(peer.sock, data)


async def check_still_serving(server: ServerProcess) -> None:
    async with aiohttp.ClientSession(base_url=server.base) as session:
        assert (await ask(session, "GET", "/health")).status == 200


async def test_a_client_that_pipelines_requests_and_never_reads_the_answers_is_dropped(
    fresh_database: str, servers: StartServer
) -> None:
    server = await servers(fresh_database, SEND_TIMEOUT=str(SEND_TIMEOUT))
    peer = await connected(server)
    request = b"GET /api/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    sending = asyncio.create_task(send_all(peer, request * PIPELINED))
    try:
        await eventually(peer.dropped, DROPPED_WITHIN, "the server drops the connection")
        await check_still_serving(server)
    finally:
        sending.cancel()
        peer.sock.close()


async def test_a_client_that_stops_reading_an_ndjson_log_is_dropped(
    fresh_database: str, servers: StartServer
) -> None:
    await seed_bulky(fresh_database, outgrowing_socket_buffers())
    server = await servers(fresh_database, SEND_TIMEOUT=str(SEND_TIMEOUT))
    peer = await connected(server)
    head = (
        "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/x-ndjson\r\n"
        f"Authorization: {AUDITOR['Authorization']}\r\n\r\n"
    )
    try:
        await send_all(peer, head.encode())
        await eventually(peer.dropped, DROPPED_WITHIN, "the server drops the connection")
        await check_still_serving(server)
    finally:
        peer.sock.close()
