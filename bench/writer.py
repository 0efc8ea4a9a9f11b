"""A paced writer: POST /api/v1/funkos at a fixed rate, whatever each request's latency.

``python -m bench.writer '<json options>'`` (host, port, token, rate, count, measure_from) runs
it in a process of its own, so the subscribers' process and the bench's own loop cannot hold
up its schedule, and prints one JSON line: its figures, every 201's log position (its
``X-Log-Position``) and, for the writes from index ``measure_from`` on, when each was sent.

Request i is sent at ``start + i / rate`` on whichever keep-alive connection is free; when none
is, another is opened, so a slow server does not push the schedule back.

The send times are ``time.monotonic()``: CLOCK_MONOTONIC, which on Linux is one system-wide
clock, so the subscriber process (bench/wsclient.py) can subtract them from its own
``time.monotonic()`` receipt times on the same machine.
"""

import asyncio
import json
import resource
import sys
import time
from typing import Any

import uvloop

from bench.raw_http import encode_requests, read_response
from bench.stats import percentile

CONNECTIONS = 8  # opened up front; more when all are busy

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def write_paced(
    host: str, port: int, token: str, rate: float, count: int, measure_from: int = 0
) -> dict[str, Any]:
    """Send ``count`` creates at ``rate`` per second: 201s, errors, response times and, for
    each 201, its log position; for those from index ``measure_from`` on, also when each was
    sent (monotonic seconds)."""
    requests = encode_requests(host, port, token, count)
    free: list[Conn] = []
    positions: list[int | None] = [None] * count
    sent_at = [0.0] * count
    latencies: list[float] = []  # the measured writes' response times
    errors: list[str] = []
    created = opened = 0
    lag = 0.0  # the furthest a send fell behind its schedule (s)

    async def connect() -> Conn:
        nonlocal opened
        opened += 1
        return await asyncio.open_connection(host, port)

    async def one(i: int, due: float) -> None:
        nonlocal created, lag
        reader, writer = free.pop() if free else await connect()
        started = sent_at[i] = time.monotonic()
        lag = max(lag, started - due)
        try:
            writer.write(requests[i])
            answer = await read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            errors.append(repr(error))
            writer.close()
            return
        if i >= measure_from:
            latencies.append(time.monotonic() - started)
        if answer.status != 201:
            errors.append(f"{answer.status} {answer.body[:200].decode(errors='replace')}")
        elif answer.position is None:
            errors.append("201 without X-Log-Position")
        else:
            created += 1
            positions[i] = answer.position
        if answer.closing:
            writer.close()
        else:
            free.append((reader, writer))

    for _ in range(CONNECTIONS):
        free.append(await connect())
    cpu = _cpu_seconds()
    began = time.monotonic()
    tasks = []
    for i in range(count):
        due = began + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    sending = time.monotonic() - began
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - began
    cpu = _cpu_seconds() - cpu
    for _, writer in free:
        writer.close()
    latencies.sort()
    return {
        "sent": count,
        "created": created,
        "send_rate": (count - 1) / sending if sending else 0.0,
        "seconds": elapsed,
        "began": began,
        "connections": opened,
        "posts_measured": len(latencies),
        "post_p50_ms": percentile(latencies, 0.50) * 1000,
        "post_p99_ms": percentile(latencies, 0.99) * 1000,
        "post_max_ms": (latencies[-1] if latencies else 0.0) * 1000,
        "lag_max_ms": lag * 1000,
        "cpu": cpu / elapsed if elapsed else 0.0,
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        # Every 201's position, in the order the writes were sent.
        "positions": [p for p in positions if p is not None],
        # [position, sent at] of every measured 201.
        "timed": [
            [p, sent_at[i]] for i, p in enumerate(positions) if p is not None and i >= measure_from
        ],
    }


async def _main(options: dict[str, Any]) -> None:
    report = await write_paced(
        options["host"],
        int(options["port"]),
        options["token"],
        float(options["rate"]),
        int(options["count"]),
        int(options.get("measure_from", 0)),
    )
    print(json.dumps(report), flush=True)


def main() -> int:
    uvloop.run(_main(json.loads(sys.argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
