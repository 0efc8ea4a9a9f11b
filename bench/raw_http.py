"""Raw HTTP/1.1 for the paced writer (bench/writer.py): pre-encoded create requests, and
responses read by their status line and Content-Length only."""

import asyncio

from bench.funkos import random_body

PATH = "/api/v1/funkos"
REQUESTS = 4096  # distinct pre-encoded requests, cycled


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


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the server will close the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        raise ValueError(f"response without Content-Length: {head[:200]!r}")
    length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)])
    body = await reader.readexactly(length) if length else b""
    return status, body, b"\r\nconnection: close" in lower
