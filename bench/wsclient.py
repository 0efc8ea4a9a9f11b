"""The subscriber process of the stream phases: N WebSocket subscribers in one uvloop process.

Usage: ``python -m bench.wsclient '<json options>'`` (host, port, path, count, timing, after).
It connects ``count`` subscribers, waits until each has had CAUGHT_UP and prints one JSON line
(connect and catch-up figures). It then reads one JSON line on stdin, ``{"expected":
[positions…], "measure_from": i}``, waits until every subscriber has the last expected position
(or a timeout), prints a JSON summary (sequence checks, commit-to-receipt latency of the
expected positions from index ``measure_from`` on) and exits.
"""

import asyncio
import json
import resource
import sys
import time
from typing import Any

import uvloop

from bench.subscriber import Subscriber, summary
from bench.wsframes import WsClient

CONNECTING = 64  # handshakes in flight at once (stays under the server's listen backlog)
WAIT = 30.0  # seconds to wait for the last expected event


async def connect(options: dict[str, Any], sub: Subscriber, gate: asyncio.Semaphore) -> str:
    """Connect and wait for CAUGHT_UP; '' on success, else what went wrong."""
    host, port, path = options["host"], options["port"], options["path"]
    loop = asyncio.get_running_loop()
    try:
        async with gate:
            sub.started = time.time()
            _, sub.client = await loop.create_connection(
                lambda: WsClient(host, port, path, sub.on_text), host, port
            )
            await sub.client.opened
        closed = sub.client.closed
        await asyncio.wait({sub.ready, closed}, timeout=600, return_when=asyncio.FIRST_COMPLETED)
    except OSError as error:
        return repr(error)
    if not sub.ready.done():
        return f"no CAUGHT_UP (closed: {closed.done()}, code {sub.client.close_code})"
    return ""


def emit(document: dict[str, Any]) -> None:
    print(json.dumps(document), flush=True)


async def run(options: dict[str, Any]) -> None:
    count = int(options["count"])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 256), hard))
    subs = [Subscriber(bool(options.get("timing"))) for _ in range(count)]
    gate, began = asyncio.Semaphore(CONNECTING), time.time()
    failures = [f for f in await asyncio.gather(*(connect(options, s, gate) for s in subs)) if f]
    ok = [s for s in subs if s.ready.done()]
    emit(
        {
            "connected": len(ok),
            "failed": len(failures),
            "error_samples": sorted(set(failures))[:5],
            "connect_s": time.time() - began,
            "caught_up": sorted({s.caught_up for s in ok}),
            "catch_up_s": max((s.caught_up_at - s.started for s in ok), default=0.0),
            "frames_before_caught_up": sum(len(s.positions) for s in ok),
        }
    )
    command = json.loads(await asyncio.to_thread(sys.stdin.readline) or "{}")
    expected: list[int] = command.get("expected", [])
    deadline = time.monotonic() + WAIT
    while expected and time.monotonic() < deadline:
        behind = [
            s
            for s in ok
            if not (s.positions and s.positions[-1] >= expected[-1])
            and not (s.client and s.client.closed.done())
        ]
        if not behind:
            break
        await asyncio.sleep(0.05)
    emit(summary(ok, expected, int(command.get("measure_from", 0)), options.get("after")))
    for sub in subs:
        if sub.client is not None:
            sub.client.close()
    await asyncio.sleep(0.2)
    for sub in subs:
        if sub.client is not None:
            sub.client.abort()


def main() -> int:
    uvloop.run(run(json.loads(sys.argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
