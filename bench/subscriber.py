"""What a subscriber received, and whether it was exactly what was committed.

``Subscriber.on_text`` runs for every frame of every connection, so it reads only what it needs
from the JSON text: the position, and (when timing) the envelope's ``createdAt``, which is its
last key; each distinct ``createdAt`` is parsed once for all subscribers.
"""

import asyncio
import itertools
from array import array
from datetime import datetime
from typing import Any, ClassVar

from bench.stats import percentile
from bench.wsframes import WsClient

POSITION, CREATED = b'"position":', b'"createdAt":"'


class Subscriber:
    """What one connection received: positions, and commit-to-receipt latencies (s)."""

    stamps: ClassVar[dict[bytes, float]] = {}  # createdAt text -> epoch s, shared by all

    def __init__(self, timing: bool) -> None:
        self.timing = timing
        self.positions = array("q")
        self.latencies = array("d")
        self.caught_up = -1
        self.caught_up_again = 0  # CAUGHT_UP frames after the first (the contract says once)
        self.started = self.caught_up_at = 0.0
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.client: WsClient | None = None

    def on_text(self, payload: bytes, now: float) -> None:
        at = payload.index(POSITION) + len(POSITION)
        if payload.startswith(b'{"type":"CAUGHT_UP"'):
            if self.ready.done():
                self.caught_up_again += 1
            else:
                self.caught_up, self.caught_up_at = int(payload[at:-1]), now
                self.ready.set_result(None)
            return
        self.positions.append(int(payload[at : payload.index(b",", at)]))
        if self.timing:
            start = payload.rindex(CREATED) + len(CREATED)
            text = payload[start : payload.index(b'"', start)]
            stamp = self.stamps.get(text)
            if stamp is None:
                stamp = self.stamps[text] = datetime.fromisoformat(text.decode()).timestamp()
            self.latencies.append(now - stamp)


def summary(
    subs: list[Subscriber], expected: list[int], measure_from: int, after: int | None
) -> dict[str, Any]:
    """Did each subscriber get exactly the expected positions, in order? And the latencies."""
    threshold = expected[measure_from] if measure_from < len(expected) else 2**63
    wanted: dict[int, list[int]] = {}
    latencies: list[float] = []
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
        latencies.extend(t for p, t in zip(got, sub.latencies, strict=False) if p >= threshold)
    latencies.sort()
    return {
        "exact": exact,
        "missing": missing,
        "duplicates": duplicates,
        "out_of_order": disorder,
        "closed_by_server": closed,
        "caught_up_again": sum(s.caught_up_again for s in subs),
        "deliveries": sum(len(s.positions) for s in subs),
        "measured": len(latencies),
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else 0.0) * 1000,
    }
