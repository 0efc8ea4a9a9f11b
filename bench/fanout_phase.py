"""Fan-out: 1,000 live subscribers while a writer creates 100 Funkos/s through the API.

Latency is commit to receipt: the subscriber process's wall clock when a frame arrives minus
the envelope's ``createdAt`` (stamped just before the commit; same machine, same clock), for
every subscriber and event after the warm-up. Every subscriber must get every event exactly
once, in order. The baseline (bench/broadcast_server.py) is driven by the same writer and the
same subscriber process. BENCH_PROFILE=<path>.fanout.json records the server with py-spy.
"""

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg

from bench.context import Context
from bench.procs import (
    HOST,
    Server,
    Subscribers,
    baseline_server,
    py_spy,
    real_server,
    record_profile,
)
from bench.result import Result, ratio_at_most
from bench.writer import write_paced

SUBSCRIBERS = 1000
RATE = 100.0  # events/s
P99_LIMIT = 1.5  # the server's p99 within this many times the baseline's

Expected = Callable[[int, int], Awaitable[list[int]]]  # (caught-up position, 201s) -> positions


async def _measure(
    serving: AbstractAsyncContextManager[Server],
    expected: Expected,
    warmup: float,
    seconds: float,
    profile: str | None = None,
) -> dict[str, Any]:
    async with serving as server, Subscribers.connect(server.port, SUBSCRIBERS) as subs:
        ready = await subs.ready()
        count = int(RATE * (warmup + seconds))
        cpu = server.cpu_seconds()
        spy = py_spy() if profile else None
        spying = None
        if spy and profile:
            spying = asyncio.create_task(record_profile(spy, server.pid, warmup, seconds, profile))
        writes = await write_paced(HOST, server.port, server.token, RATE, count)
        if spying is not None:
            await spying
        writes["server_cpu"] = (server.cpu_seconds() - cpu) / writes["seconds"]
        positions = await expected(min(ready["caught_up"], default=0), writes["created"])
        final = await subs.finish(positions, measure_from=int(RATE * warmup))
    return {"ready": ready, "writes": writes, "final": final, "expected": len(positions)}


def _logged_after(url: str) -> Expected:
    async def positions(after: int, _: int) -> list[int]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(
                "SELECT position FROM events WHERE position > $1 ORDER BY position", after
            )
        finally:
            await conn.close()
        return [int(r[0]) for r in rows]

    return positions


async def _counted(after: int, created: int) -> list[int]:
    return list(range(after + 1, after + created + 1))


def _check(result: Result, who: str, run: dict[str, Any]) -> None:
    ready, writes, final = run["ready"], run["writes"], run["final"]
    result.failed(f"{who}: subscriber failed to connect: {ready['error_samples']}", ready["failed"])
    result.failed(f"{who}: writer: {writes['error_samples']}", writes["errors"])
    everyone = ready["connected"] == SUBSCRIBERS == final["exact"]
    result.checks[f"{who}: {SUBSCRIBERS} subscribers got all events once, in order"] = (
        everyone and run["expected"] == writes["created"]
    )
    if not everyone:
        wrong = {
            k: final[k]
            for k in (
                "missing",
                "duplicates",
                "out_of_order",
                "closed_by_server",
                "caught_up_again",
            )
        }
        result.failed(f"{who}: {final['exact']}/{SUBSCRIBERS} exact; {wrong}")
    result.extra[who] = {
        "connect_s": round(ready["connect_s"], 2),
        "writer": writes,
        **final,
    }


async def run(ctx: Context) -> Result:
    """Baseline, then the server; with BENCH_PROFILE, py-spy records the server while writing."""
    url, warmup, seconds = ctx.url, ctx.config.warmup, ctx.config.seconds
    profile = ctx.config.profile and f"{ctx.config.profile}.fanout.json"
    base = await _measure(baseline_server(), _counted, warmup, seconds)
    real = await _measure(real_server(url), _logged_after(url), warmup, seconds, profile)
    result = Result(f"minimal aiohttp broadcaster, {SUBSCRIBERS} clients, {RATE:g} frames/s")
    fs, fb = real["final"], base["final"]
    result.add("p50 ms commit->receipt", fs["p50_ms"], fb["p50_ms"])
    result.add(
        "p99 ms commit->receipt",
        fs["p99_ms"],
        fb["p99_ms"],
        f"<= {P99_LIMIT:g}x baseline",
        ratio_at_most(P99_LIMIT),
    )
    result.add("max ms commit->receipt", fs["max_ms"], fb["max_ms"])
    ws, wb = real["writes"], base["writes"]
    result.add("writer POST p99 ms", ws["post_p99_ms"], wb["post_p99_ms"])
    result.add("server CPU % while writing", ws["server_cpu"] * 100, wb["server_cpu"] * 100)
    _check(result, "server", real)
    _check(result, "baseline", base)
    result.extra.update(subscribers=SUBSCRIBERS, rate=RATE, warmup_s=warmup, seconds=seconds)
    return result
