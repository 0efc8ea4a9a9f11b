"""What a subscriber received, when, and whether it was exactly what was committed.

``Subscriber.on_text`` runs for every frame (WebSocket) or event (SSE) of every connection, so
it reads only the position from the JSON text and, when timing, keeps the receipt time beside
it: ``time.monotonic()`` of the read that completed the frame, the clock the writer process
stamps its sends with (CLOCK_MONOTONIC is system-wide on Linux). ``summary`` then checks each
subscriber's positions against the log and computes end-to-end latency, receipt minus send,
for every subscriber and every write it is given the send time of.
"""

import asyncio
import itertools
from array import array
from collections.abc import Iterable
from typing import Any, Protocol

from bench.stats import percentile

POSITION = b'"position":'
CAUGHT_UP = b'{"type":"CAUGHT_UP"'


class Client(Protocol):
    """A subscriber's connection, on either transport (bench.wsframes, bench.sseframes)."""

    opened: asyncio.Future[None]
    closed: asyncio.Future[None]
    close_code: int | None  # set when the server ended the stream (WebSocket: its close code)

    def close(self) -> None: ...

    def abort(self) -> None: ...


async def hang_up(clients: Iterable[Client | None]) -> None:
    """Close each connection, then abort those the server has not let go of a moment later."""
    opened = [client for client in clients if client is not None]
    for client in opened:
        client.close()
    await asyncio.sleep(0.2)
    for client in opened:
        client.abort()


class Subscriber:
    """What one connection received: positions and, when timing, when each arrived."""

    def __init__(self, timing: bool) -> None:
        self.timing = timing
        self.positions = array("q")
        self.received = array("d")  # time.monotonic() at receipt, beside each position
        self.caught_up = -1
        self.caught_up_again = 0  # CAUGHT_UP frames after the first (the contract says once)
        self.started = self.caught_up_at = 0.0
        self.before_caught_up = 0  # frames before CAUGHT_UP (live ones may follow at once)
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.client: Client | None = None

    def on_text(self, payload: bytes, now: float) -> None:
        at = payload.index(POSITION) + len(POSITION)
        if payload.startswith(CAUGHT_UP):
            if self.ready.done():
                self.caught_up_again += 1
            else:
                self.caught_up, self.caught_up_at = int(payload[at:-1]), now
                self.before_caught_up = len(self.positions)
                self.ready.set_result(None)
            return
        self.positions.append(int(payload[at : payload.index(b",", at)]))
        if self.timing:
            self.received.append(now)


def _spread(values: list[float], prefix: str) -> dict[str, float]:
    """p50, p99 and max (ms) of ``values`` (sorted here)."""
    values.sort()
    return {
        f"{prefix}p50_ms": percentile(values, 0.50) * 1000,
        f"{prefix}p99_ms": percentile(values, 0.99) * 1000,
        f"{prefix}max_ms": (values[-1] if values else 0.0) * 1000,
    }


def summary(
    subs: list[Subscriber], expected: list[int], sent: dict[int, float], after: int | None
) -> dict[str, Any]:
    """Did each subscriber get exactly the expected positions, in order? And end to end, from
    ``sent`` (position -> when its write was sent, monotonic s) to each receipt: over every
    subscriber × every position in ``sent`` (``p50_ms``…), and until the last subscriber had
    each position (``last_p50_ms``…)."""
    wanted: dict[int, list[int]] = {}
    latencies: list[float] = []
    last: dict[int, float] = {}  # position -> its latest receipt, over every subscriber
    exact = missing = duplicates = disorder = closed = 0
    for sub in subs:
        start = sub.caught_up if after is None else after
        want = wanted.setdefault(start, [p for p in expected if p > start])
        got = sub.positions.tolist()
        if got == want and not sub.caught_up_again:
            exact += 1
        else:
            missing += len(set(want) - set(got))
            duplicates += len(got) - len(set(got))
            disorder += sum(1 for a, b in itertools.pairwise(got) if b <= a)
        closed += sub.client is not None and sub.client.close_code is not None
        if not sent:
            continue
        for position, at in zip(got, sub.received, strict=False):
            began = sent.get(position)
            if began is not None:
                latencies.append(at - began)
                if at > last.get(position, -1.0):
                    last[position] = at
    return {
        "exact": exact,
        "missing": missing,
        "duplicates": duplicates,
        "out_of_order": disorder,
        "closed_by_server": closed,
        "caught_up_again": sum(s.caught_up_again for s in subs),
        "deliveries": sum(len(s.positions) for s in subs),
        "measured": len(latencies),
        "negative": sum(1 for t in latencies if t < 0),  # would mean the clocks disagree
        **_spread(latencies, ""),
        **_spread([at - sent[p] for p, at in last.items()], "last_"),
    }
