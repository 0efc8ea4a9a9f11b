"""The subscriber process of the stream phases: N subscribers in one uvloop process, over
WebSockets (bench.wsframes) or server-sent events (bench.sseframes).

Usage: ``python -m bench.wsclient '<json options>'`` (host, port, path, count, timing, after,
transport: "ws", the default, or "sse"). It connects ``count`` subscribers, waits until each
has had CAUGHT_UP and prints one JSON line (connect and catch-up figures). It then reads one
JSON line on stdin, ``{"expected": [positions…], "sent": [[position, sent at]…]}``, waits until
every subscriber has the last expected position (or a timeout), prints a JSON summary
(sequence checks; end-to-end latency, receipt minus send, of the positions in ``sent``: see
bench.subscriber) and exits. Every time is ``time.monotonic()``: CLOCK_MONOTONIC is one
system-wide clock on Linux, so the writer process's send times compare with these receipts.
"""

import asyncio
import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import uvloop

from bench.sseframes import SseClient
from bench.subscriber import Subscriber, hang_up, summary
from bench.wsframes import OnText, WsClient

CONNECTING = 64  # handshakes in flight at once (stays under the server's listen backlog)
WAIT = 30.0  # seconds to wait for the last expected event

Factory = Callable[[str, int, str, OnText], WsClient | SseClient]
TRANSPORTS: dict[str, Factory] = {"ws": WsClient, "sse": SseClient}


async def connect(options: dict[str, Any], sub: Subscriber, gate: asyncio.Semaphore) -> str:
    """Connect and wait for CAUGHT_UP; '' on success, else what went wrong."""
    host, port, path = options["host"], options["port"], options["path"]
    factory = TRANSPORTS[options.get("transport", "ws")]
    loop = asyncio.get_running_loop()
    try:
        async with gate:
            sub.started = time.monotonic()
            _, client = await loop.create_connection(
                lambda: factory(host, port, path, sub.on_text), host, port
            )
            sub.client = client
            await client.opened
        closed = client.closed
        await asyncio.wait({sub.ready, closed}, timeout=600, return_when=asyncio.FIRST_COMPLETED)
    except OSError as error:
        return repr(error)
    if not sub.ready.done():
        return f"no CAUGHT_UP (closed: {closed.done()}, code {client.close_code})"
    return ""


def emit(document: dict[str, Any]) -> None:
    print(json.dumps(document), flush=True)


async def run(options: dict[str, Any]) -> None:
    count = int(options["count"])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 256), hard))
    subs = [Subscriber(bool(options.get("timing"))) for _ in range(count)]
    gate, began = asyncio.Semaphore(CONNECTING), time.monotonic()
    failures = [f for f in await asyncio.gather(*(connect(options, s, gate) for s in subs)) if f]
    ok = [s for s in subs if s.ready.done()]
    emit(
        {
            "connected": len(ok),
            "failed": len(failures),
            "error_samples": sorted(set(failures))[:5],
            "connect_s": time.monotonic() - began,
            "caught_up": sorted({s.caught_up for s in ok}),
            "catch_up_s": max((s.caught_up_at - s.started for s in ok), default=0.0),
            "frames_before_caught_up": sum(s.before_caught_up for s in ok),
        }
    )
    command = json.loads(await asyncio.to_thread(sys.stdin.readline) or "{}")
    expected: list[int] = command.get("expected", [])
    sent = {int(p): float(t) for p, t in command.get("sent", [])}
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
    emit(summary(ok, expected, sent, options.get("after")))
    await hang_up(sub.client for sub in subs)


def main() -> int:
    uvloop.run(run(json.loads(sys.argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
