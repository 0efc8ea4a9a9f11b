"""Replay: one subscriber with ``after=0`` reads the whole log (≥ 200,000 events) to CAUGHT_UP.

Set-up tops the bench database up to EVENTS events (earlier phases' events count) through the
service layer, as the app wires it, with enough concurrent creates to fill group commits.
Baseline: one asyncpg connection paging the same envelopes by position with the server's own
query (infrastructure.envelopes.AFTER, 1,000 a page). A first, untimed pass warms PostgreSQL's
cache for both; then each side replays REPEATS times and its fastest pass counts.
"""

import asyncio
import time
from typing import Any

import asyncpg

from bench.context import Context
from bench.db import count_events
from bench.funkos import random_fields
from bench.procs import Subscribers, real_server
from bench.result import Result, ratio_at_least
from infrastructure import bootstrap
from infrastructure.envelopes import AFTER

EVENTS = 200_000
TASKS = 2048  # concurrent creates: enough for full group commits (MAX_BATCH 512)
PAGE = 1000
MIN_RATIO = 0.5  # issue 14
REPEATS = 2  # timed passes of each side; the fastest counts


async def seed(url: str, events: int = EVENTS) -> dict[str, Any]:
    """Create Funkos until the log holds ``events`` events."""
    had = await count_events(url)
    left = max(0, events - had)
    started = time.perf_counter()
    async with bootstrap.running(url) as parts:

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                await parts.service.create(random_fields(), "bench")

        await asyncio.gather(*(worker() for _ in range(min(TASKS, left))))
    return {"had": had, "written": max(0, events - had), "seconds": time.perf_counter() - started}


async def page_through(url: str) -> tuple[int, float]:
    """(events, seconds) to fetch every envelope after position 0, a page at a time."""
    conn = await asyncpg.connect(url)
    try:
        started, after, count = time.perf_counter(), 0, 0
        while rows := await conn.fetch(AFTER, after, PAGE):
            count += len(rows)
            after = rows[-1][0]
        return count, time.perf_counter() - started
    finally:
        await conn.close()


async def positions(url: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT position FROM events ORDER BY position")
        return [int(r[0]) for r in rows]
    finally:
        await conn.close()


async def _replay(port: int, expected: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """One subscriber from 0 to CAUGHT_UP: (connect and catch-up figures, sequence checks)."""
    async with Subscribers.connect(port, 1, after=0, timing=False) as subs:
        ready = await subs.ready()
        return ready, await subs.finish(expected)


async def run(ctx: Context) -> Result:
    url = ctx.url
    seeded = await seed(url)
    ctx.say(f"bench: replay: seeded {seeded['written']} events in {seeded['seconds']:.1f} s")
    await page_through(url)  # warm-up
    base_events, base_seconds = min(
        [await page_through(url) for _ in range(REPEATS)], key=lambda r: r[1]
    )
    expected = await positions(url)
    async with real_server(url) as server:
        runs = [await _replay(server.port, expected) for _ in range(REPEATS)]
    ready, final = min(runs, key=lambda r: float(r[0]["catch_up_s"]))
    replayed, seconds = ready["frames_before_caught_up"], ready["catch_up_s"]
    result = Result(f"asyncpg paging envelopes.AFTER by {PAGE}; best of {REPEATS} each")
    result.add(
        "events/s to CAUGHT_UP",
        replayed / seconds if seconds else 0.0,
        base_events / base_seconds if base_seconds else 0.0,
        f">= {MIN_RATIO:g}x baseline",
        ratio_at_least(MIN_RATIO),
    )
    result.add("seconds to CAUGHT_UP", seconds, base_seconds)
    everything = all(
        f["exact"] == 1 and r["frames_before_caught_up"] == len(expected) for r, f in runs
    )
    result.checks[f"server: all {len(expected)} events once, in order, then CAUGHT_UP"] = everything
    result.checks["baseline: paged every event"] = base_events == len(expected)
    for r, _ in runs:
        result.failed(f"subscriber: {r['error_samples']}", r["failed"])
    result.extra.update(seed=seeded, events=len(expected), subscriber=final)
    return result
