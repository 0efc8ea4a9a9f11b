"""A paced writer: POST /api/v1/funkos at a fixed rate, whatever each request's latency.

Request i is sent at ``start + i / rate`` on whichever keep-alive connection is free; when none
is, another is opened, so a slow server does not push the schedule back.
"""

import asyncio
import time
from typing import Any

from bench.raw_http import encode_requests, read_response
from bench.stats import percentile

CONNECTIONS = 8  # opened up front; more when all are busy

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def write_paced(host: str, port: int, token: str, rate: float, count: int) -> dict[str, Any]:
    """Send ``count`` creates at ``rate`` per second; 201s, errors and response times."""
    requests = encode_requests(host, port, token, count)
    free: list[Conn] = []
    created, latencies, errors, opened = 0, [], [], 0

    async def connect() -> Conn:
        nonlocal opened
        opened += 1
        return await asyncio.open_connection(host, port)

    async def one(request: bytes) -> None:
        nonlocal created
        reader, writer = free.pop() if free else await connect()
        started = time.perf_counter()
        try:
            writer.write(request)
            status, body, closing = await read_response(reader)
        except (OSError, asyncio.IncompleteReadError) as error:
            errors.append(repr(error))
            writer.close()
            return
        latencies.append(time.perf_counter() - started)
        if status == 201:
            created += 1
        else:
            errors.append(f"{status} {body[:200].decode(errors='replace')}")
        if closing:
            writer.close()
        else:
            free.append((reader, writer))

    for _ in range(CONNECTIONS):
        free.append(await connect())
    loop = asyncio.get_running_loop()
    began = loop.time()
    tasks = []
    for i, request in enumerate(requests):
        delay = began + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(request)))
    sending = loop.time() - began
    await asyncio.gather(*tasks)
    elapsed = loop.time() - began
    for _, writer in free:
        writer.close()
    latencies.sort()
    return {
        "sent": count,
        "created": created,
        "send_rate": (count - 1) / sending if sending else 0.0,
        "seconds": elapsed,
        "connections": opened,
        "post_p99_ms": percentile(latencies, 0.99) * 1000,
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
    }
