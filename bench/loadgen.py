"""A light HTTP load generator, run as its own process so it does not share the server's CPU
time slice: uvloop, raw streams, pre-encoded HTTP/1.1 requests, keep-alive connections, and
only the status line and Content-Length parsed.

Usage: ``python -m bench.loadgen '<json options>'``; prints one JSON summary on stdout.
"""

import asyncio
import itertools
import json
import sys
import time
from typing import Any

import uvloop

from bench.funkos import random_body
from bench.stats import Window

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


class Counts:
    created = 0


async def connection(
    host: str, port: int, requests: list[bytes], start: int, window: Window, counts: Counts
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in itertools.islice(itertools.cycle(requests), start, None):
            if not window.open():
                return
            started = time.perf_counter()
            writer.write(request)
            status, body, closing = await read_response(reader)
            if status == 201:
                counts.created += 1
                window.record(started)
            else:
                window.failed(f"{status} {body[:300].decode(errors='replace')}")
            if closing:
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def run(options: dict[str, Any]) -> dict[str, Any]:
    # Connections are spread over the server processes' ports, round robin.
    host, ports = options["host"], options["ports"]
    requests = encode_requests(host, ports[0], options["token"], REQUESTS)
    counts = Counts()
    window = Window(options["warmup"], options["seconds"])
    step = REQUESTS // options["connections"]
    outcomes = await asyncio.gather(
        *(
            connection(host, ports[i % len(ports)], requests, i * step, window, counts)
            for i in range(options["connections"])
        ),
        return_exceptions=True,
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            window.failed(f"connection failed: {outcome!r}")
    return {**window.summary(), "created": counts.created}


def main() -> int:
    options = json.loads(sys.argv[1])
    print(json.dumps(uvloop.run(run(options))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
