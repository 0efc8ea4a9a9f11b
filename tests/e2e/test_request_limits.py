"""How big a request may be: bodies over 64 KiB get 413 before they are read, an oversized
head gets a 4xx; never a 5xx, never a connection left hanging.

Spoken over raw sockets (a client library would refuse to send most of this), both to
``run.py serve`` as operators start it and to the test server the other e2e tests use.
aiohttp refuses an oversized head itself, before any middleware: a plain-text 400.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import uuid4

import pytest
import pytest_asyncio

from tests.e2e.conftest import StartServer
from tests.support.servers import Servers
from tests.support.shop import FUNKOS, decode
from tests.support.tokens import ADMIN
from web.deadline import DEADLINE
from web.funkos import BODY_LIMIT

PROMPTLY = 3.0  # seconds: an answer later than this is a connection left hanging
Address = tuple[str, int]


@dataclass(frozen=True)
class Answer:
    """A response as it came over the wire, and whether the server then hung up."""

    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    closed: bool | None  # None: not waited for


async def exchange(
    address: Address, head: str, body: bytes = b"", *, then_closed: bool = False
) -> Answer:
    """Send ``head`` (lines, no blank line) and ``body``; read the whole answer promptly,
    then, if ``then_closed``, wait (as long again at most) for the server to hang up."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        async with asyncio.timeout(PROMPTLY):
            writer.write(head.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body)
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            headers = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            content = await reader.readexactly(int(headers.get("content-length", 0)))
        return Answer(status, headers, content, await hung_up(reader) if then_closed else None)
    finally:
        writer.close()


async def hung_up(reader: asyncio.StreamReader) -> bool:
    try:
        async with asyncio.timeout(PROMPTLY):
            return not await reader.read()
    except TimeoutError:
        return False


# Module-wide: one process serves every test here. Its loop is the module's (the fixture
# starts and kills it there); the tests keep their own loops, as the test server needs.
@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def served(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Address]:
    """``run.py serve`` on a free port of 127.0.0.1, for the whole module."""
    servers = Servers(tmp_path_factory.mktemp("serve"))
    try:
        server = await servers.start(database_url)
        yield "127.0.0.1", server.port
    finally:
        await servers.stop()


@pytest.fixture(params=["run.py serve", "test server"])
async def address(
    request: pytest.FixtureRequest, served: Address, start_server: StartServer
) -> AsyncIterator[Address]:
    if request.param == "run.py serve":
        yield served
    else:
        client = await start_server()
        assert client.port is not None
        yield client.host, client.port


def request_head(method: str, target: str, *headers: str) -> str:
    return "\n".join([f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *headers])


WRITES_WITH_BODIES = {
    "POST": FUNKOS,
    "PUT": f"{FUNKOS}/{uuid4()}",
    "PATCH": f"{FUNKOS}/{uuid4()}",
}
AS_ADMIN = f"Authorization: {ADMIN['Authorization']}"


def assert_problem(answer: Answer, status: int) -> None:
    assert answer.status == status, answer
    assert answer.headers["content-type"].startswith("application/problem+json"), answer
    assert decode(answer.body.decode())["status"] == status


@pytest.mark.parametrize("method", WRITES_WITH_BODIES)
async def test_a_declared_length_over_64_kib_is_refused_before_any_of_the_body_is_sent(
    address: Address, method: str
) -> None:
    for length in (BODY_LIMIT + 1, 10**12):
        head = request_head(
            method,
            WRITES_WITH_BODIES[method],
            AS_ADMIN,
            "Content-Type: application/json",
            f"Content-Length: {length}",
        )
        assert_problem(await exchange(address, head), 413)


async def test_a_chunked_body_is_refused_as_it_passes_64_kib(address: Address) -> None:
    head = request_head(
        "POST", FUNKOS, AS_ADMIN, "Content-Type: application/json", "Transfer-Encoding: chunked"
    )
    chunk = b" " * 8192
    # One byte over the limit, then the sender stalls: no end of the body ever comes.
    body = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    body = body * (BODY_LIMIT // len(chunk)) + b"1\r\n \r\n"
    assert_problem(await exchange(address, head, body), 413)


async def test_a_declared_length_over_64_kib_without_a_token_is_unauthorized(
    address: Address,
) -> None:
    head = request_head(
        "POST", FUNKOS, "Content-Type: application/json", f"Content-Length: {10**10}"
    )
    assert_problem(await exchange(address, head), 401)


async def refused_head(address: Address, head: str) -> None:
    """aiohttp's own refusal of a head: a 4xx, after which the server hangs up."""
    answer = await exchange(address, head, then_closed=True)
    assert 400 <= answer.status < 500, answer
    assert answer.closed, answer


async def test_a_request_target_over_8_kib_is_refused(address: Address) -> None:
    under = "/health?pad=" + "x" * (8000 - len("/health?pad="))
    assert (await exchange(address, request_head("GET", under))).status == 200
    await refused_head(address, request_head("GET", under + "x" * 1000))


async def test_a_header_over_8_kib_is_refused(address: Address) -> None:
    pad = "X-Pad: " + "x" * (8000 - len("X-Pad: "))
    assert (await exchange(address, request_head("GET", "/health", pad))).status == 200
    await refused_head(address, request_head("GET", "/health", pad + "x" * 1000))


async def test_more_than_64_headers_are_refused(address: Address) -> None:
    def padded(count: int) -> str:  # Host is one of them
        return request_head("GET", "/health", *(f"X-Pad-{i}: x" for i in range(count - 1)))

    assert (await exchange(address, padded(64))).status == 200
    await refused_head(address, padded(65))
    await refused_head(address, padded(1000))


async def first_answer_line(address: Address, head: str) -> tuple[bytes, asyncio.StreamReader]:
    """Send ``head`` with ``Expect: 100-continue`` and no body yet; the first line answered."""
    reader, writer = await asyncio.open_connection(*address)
    writer.write(head.replace("\n", "\r\n").encode() + b"\r\nExpect: 100-continue\r\n\r\n")
    async with asyncio.timeout(PROMPTLY):
        return await reader.readline(), reader


@pytest.mark.parametrize(
    ("headers", "status"),
    [((AS_ADMIN, f"Content-Length: {BODY_LIMIT + 1}"), 413), (("Content-Length: 99",), 401)],
    ids=["over 64 KiB", "no token"],
)
async def test_a_body_that_would_be_refused_is_not_asked_for(
    address: Address, headers: tuple[str, ...], status: int
) -> None:
    head = request_head("POST", FUNKOS, "Content-Type: application/json", *headers)
    line, _ = await first_answer_line(address, head)
    assert line.startswith(f"HTTP/1.1 {status} ".encode()), line


async def test_a_body_that_will_be_taken_is_asked_for_with_100_continue(address: Address) -> None:
    body = b'{"name": "Asked for", "price": 1, "stock": 1, "category": "expect"}'
    head = request_head(
        "POST", FUNKOS, AS_ADMIN, "Content-Type: application/json", f"Content-Length: {len(body)}"
    )
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\nExpect: 100-continue\r\n\r\n")
        async with asyncio.timeout(PROMPTLY):
            assert await reader.readline() == b"HTTP/1.1 100 Continue\r\n"
            assert await reader.readline() == b"\r\n"
            writer.write(body)
            assert (await reader.readline()).startswith(b"HTTP/1.1 201 ")
    finally:
        writer.close()


async def test_a_body_that_does_not_arrive_in_time_is_408_and_the_connection_closed(
    address: Address,
) -> None:
    head = request_head(
        "POST", FUNKOS, AS_ADMIN, "Content-Type: application/json", "Content-Length: 100"
    )
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n\r\n" + b'{"name": "sl')
        async with asyncio.timeout(DEADLINE + PROMPTLY):
            status = await reader.readline()
            answer = await reader.read()  # to the end: the server hangs up after it
    finally:
        writer.close()
    assert status.startswith(b"HTTP/1.1 408 "), status
    head_lines, _, body = answer.partition(b"\r\n\r\n")
    assert b"application/problem+json" in head_lines
    assert decode(body.decode())["status"] == 408
