"""Memory: the server's resident set before and after 1,000 (then 10,000) idle subscribers
connect.

Each server first takes a few subscribers and lets them go (code paths loaded, caches and
pools filled), settles, and its VmRSS is read; then 1,000 subscribers connect, all get
CAUGHT_UP, it settles again, and VmRSS is read again. The baseline is the minimal broadcaster
(bench/broadcast_server.py), measured the same way.
"""

import asyncio
from contextlib import AbstractAsyncContextManager
from typing import Any

from bench.context import Context
from bench.procs import Server, Subscribers, baseline_server, real_server
from bench.result import Result, below

SUBSCRIBERS = 1000
MANY = 10_000  # reported beside the same on the baseline, with no target
WARM = 20
SETTLE = 2.0  # seconds for the server (and its GC) to go quiet before RSS is read
LIMIT_KIB = 16.0  # issue 14: at most 16 KiB


async def _measure(
    serving: AbstractAsyncContextManager[Server], count: int = SUBSCRIBERS
) -> dict[str, Any]:
    async with serving as server:
        async with Subscribers.connect(server.port, WARM, timing=False) as warm:
            await warm.ready()
            await warm.finish([])
        await asyncio.sleep(SETTLE)
        before = server.rss_kib()
        async with Subscribers.connect(server.port, count, timing=False) as subs:
            ready = await subs.ready()
            await asyncio.sleep(SETTLE)
            after = server.rss_kib()
            await subs.finish([])
    connected = max(1, int(ready["connected"]))
    return {
        "rss_before_kib": before,
        "rss_after_kib": after,
        "connected": ready["connected"],
        "failed": ready["failed"],
        "error_samples": ready["error_samples"],
        "kib_per_subscriber": (after - before) / connected,
    }


async def run(ctx: Context) -> Result:
    base = await _measure(baseline_server())
    real = await _measure(real_server(ctx.url))
    result = Result(f"minimal aiohttp broadcaster, {SUBSCRIBERS} idle clients")
    result.add(
        "KiB RSS per idle subscriber",
        real["kib_per_subscriber"],
        base["kib_per_subscriber"],
        f"< {LIMIT_KIB:g} KiB",
        below(LIMIT_KIB),
    )
    for name, key in (("MiB RSS before", "rss_before_kib"), ("MiB RSS with subs", "rss_after_kib")):
        result.add(name, real[key] / 1024, base[key] / 1024)
    base_many = await _measure(baseline_server(), MANY)
    real_many = await _measure(real_server(ctx.url), MANY)
    result.add(
        f"KiB RSS per idle subscriber, {MANY:,}",
        real_many["kib_per_subscriber"],
        base_many["kib_per_subscriber"],
    )
    measured_all = (
        ("server", SUBSCRIBERS, real),
        ("baseline", SUBSCRIBERS, base),
        (f"server {MANY:,}", MANY, real_many),
        (f"baseline {MANY:,}", MANY, base_many),
    )
    for who, count, measured in measured_all:
        result.failed(f"{who}: {measured['error_samples']}", measured["failed"])
        result.checks[f"{who}: {count} subscribers connected"] = measured["connected"] == count
        result.extra[who] = measured
    return result
