"""Raw HTTP/1.1 for the paced writer (bench/writer.py): pre-encoded create requests, and
responses read by their status line, Content-Length and X-Log-Position only."""

import asyncio
from typing import NamedTuple

from bench.funkos import random_body

PATH = "/api/v1/funkos"
REQUESTS = 4096  # distinct pre-encoded requests, cycled
LOG_POSITION = b"\r\nx-log-position:"


class Answer(NamedTuple):
    status: int
    body: bytes
    closing: bool  # the server will close the connection
    position: int | None  # X-Log-Position: where the write's event sits in the log


def encode_requests(host: str, port: int, token: str, count: int) -> list[bytes]:
    requests = []
    for _ in range(count):
        body = random_body()
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    return requests


def _header(lower: bytes, name: bytes) -> bytes | None:
    """The value of header ``name`` (b"\\r\\nname:", lower case) in a lower-cased head."""
    at = lower.find(name)
    if at < 0:
        return None
    return lower[at + len(name) : lower.index(b"\r\n", at + 2)].strip()


async def read_response(reader: asyncio.StreamReader) -> Answer:
    """Status, body, whether the server will close the connection, and X-Log-Position."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    length = _header(lower, b"\r\ncontent-length:")
    if length is None:
        raise ValueError(f"response without Content-Length: {head[:200]!r}")
    body = await reader.readexactly(int(length)) if int(length) else b""
    position = _header(lower, LOG_POSITION)
    return Answer(
        status,
        body,
        b"\r\nconnection: close" in lower,
        int(position) if position is not None else None,
    )
