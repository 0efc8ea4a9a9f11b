"""Fan-out: 1,000 live subscribers while a writer, in a process of its own, creates Funkos
through the API at 20 and at 100 writes/s.

Latency is end to end: from the moment the writer process sends a write's request to the
moment each subscriber has its event. The writer (bench/writer.py) stamps each send with
``time.monotonic()`` and learns the event's position from the 201's ``X-Log-Position``; the
subscriber process (bench/wsclient.py) stamps each receipt with ``time.monotonic()`` too
(CLOCK_MONOTONIC is one system-wide clock on Linux, so the two processes' readings compare on
this machine) and, given the writer's {position: sent at}, takes receipt minus send over every
subscriber × every write after the warm-up. Every subscriber must get every event exactly once,
in order.

Runs, each on a freshly started server, each writing for BENCH_WARMUP + BENCH_SECONDS (the
warm-up's writes are checked but not timed); at each rate:

- the baseline (bench/broadcast_server.py) with 1,000 WebSocket subscribers;
- run.py serve (WORKERS=1: every subscriber in one process) with no subscriber: the writer's
  POST p99 to compare with;
- run.py serve with 1,000 WebSocket subscribers (BENCH_PROFILE=<path>: py-spy records it at
  100 writes/s, to ``<path>.fanout.json``);
- at 20 writes/s only, run.py serve with 1,000 server-sent event subscribers.

The same writer and subscriber process drive every run.
"""

import asyncio
import time
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

from bench.context import Context
from bench.db import positions_after
from bench.procs import (
    Server,
    Subscribers,
    baseline_server,
    cpu_seconds,
    py_spy,
    real_server,
    record_profile,
    write_paced,
)
from bench.result import Result, ratio_at_most

SUBSCRIBERS = 1000
RATES = (20.0, 100.0)  # writes/s
SSE_RATE = 20.0  # the rate SSE is compared with the WebSocket at
E2E_LIMIT = 1.2  # the server's end-to-end p99 within this many times the baseline's (at 20/s)
E2E_TARGET_RATE = 20.0
POST_LIMIT = 1.5  # the writer's POST p99 with subscribers within this many times none's
SSE_LIMIT = 1.2  # SSE's end-to-end p99 within this many times the WebSocket's


async def _measure(
    serving: AbstractAsyncContextManager[Server],
    rate: float,
    warmup: float,
    seconds: float,
    transport: str | None,
    url: str | None = None,
    profile: str | None = None,
) -> dict[str, Any]:
    """One run: a server, ``SUBSCRIBERS`` on ``transport`` (None: nobody), the paced writer.
    ``url``: the real server's database, whose log says what the subscribers must get (the
    baseline's log is the writer's 201s)."""
    count, measure_from = int(rate * (warmup + seconds)), int(rate * warmup)
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(serving)
        subs, ready = None, dict[str, Any](connected=0, failed=0, caught_up=[], connect_s=0.0)
        if transport is not None:
            subs = await stack.enter_async_context(
                Subscribers.connect(server.port, SUBSCRIBERS, transport=transport)
            )
            ready = await subs.ready()
        spy = py_spy() if profile else None
        spying = None
        if spy and profile:
            spying = asyncio.create_task(record_profile(spy, server.pid, warmup, seconds, profile))
        cpu, client_cpu = server.cpu_seconds(), cpu_seconds(subs.pid) if subs else 0.0
        began = time.monotonic()
        writes = await write_paced(server, rate, count, measure_from)
        wall = time.monotonic() - began
        cpu, client_cpu = (
            server.cpu_seconds() - cpu,
            cpu_seconds(subs.pid) - client_cpu if subs else 0.0,
        )
        if spying is not None:
            await spying
        run: dict[str, Any] = {
            "ready": ready,
            "writes": writes,
            "server_cpu": cpu / wall,
            "client_cpu": client_cpu / wall,
            "final": {},
        }
        if subs is not None:
            after = min(ready["caught_up"], default=0)
            created = sorted(writes["positions"])
            # The baseline's log: the positions it hands out, one by one from its head.
            logged = range(after + 1, after + len(created) + 1)
            expected = await positions_after(url, after) if url else list(logged)
            run["logged_as_written"] = expected == created
            run["final"] = await subs.finish(expected, writes["timed"])
    return run


def _check(result: Result, who: str, run: dict[str, Any]) -> None:
    """The run's errors and checks; its figures, less the position lists, kept in ``extra``."""
    ready, writes, final = run["ready"], run["writes"], run["final"]
    result.failed(f"{who}: writer: {writes['error_samples']}", writes["errors"])
    writer = {k: v for k, v in writes.items() if k not in ("positions", "timed")}
    kept: dict[str, Any] = {"writer": writer, "server_cpu": run["server_cpu"]}
    if final:
        result.failed(f"{who}: subscriber failed: {ready['error_samples']}", ready["failed"])
        result.failed(f"{who}: {final['negative']} latencies < 0 (clocks?)", final["negative"])
        everyone = ready["connected"] == SUBSCRIBERS == final["exact"]
        result.checks[f"{who}: {SUBSCRIBERS} subscribers got all events once, in order"] = (
            everyone and run["logged_as_written"] and writes["created"] == writes["sent"]
        )
        if not everyone:
            keys = ("missing", "duplicates", "out_of_order", "closed_by_server", "caught_up_again")
            wrong = {k: final[k] for k in keys}
            result.failed(f"{who}: {final['exact']}/{SUBSCRIBERS} exact; {wrong}")
        kept.update(connect_s=round(ready["connect_s"], 2), client_cpu=run["client_cpu"], **final)
    result.extra[who] = kept
    said = [
        f"POST p50/p99 {writes['post_p50_ms']:.1f}/{writes['post_p99_ms']:.1f} ms"
        f" ({writes['posts_measured']} timed)",
        f"server CPU {run['server_cpu']:.0%}",
        f"writer lag max {writes['lag_max_ms']:.1f} ms",
    ]
    if final:
        said[1:1] = [
            f"e2e until the last subscriber p50/p99 {final['last_p50_ms']:.1f}/"
            f"{final['last_p99_ms']:.1f} ms",
            f"subscriber process CPU {run['client_cpu']:.0%}",
        ]
    result.notes.append(f"{who}: " + "; ".join(said))


async def run(ctx: Context) -> Result:
    """At each rate: the baseline, the server with no subscriber, with WebSockets, (at 20/s)
    with server-sent events."""
    url, warmup, seconds = ctx.url, ctx.config.warmup, ctx.config.seconds
    profile = ctx.config.profile and f"{ctx.config.profile}.fanout.json"
    result = Result(
        f"the minimal aiohttp broadcaster, {SUBSCRIBERS} WebSocket clients, same writer (e2e,"
        " CPU); the server with no subscriber (POST); the server's WebSocket run (SSE)"
    )
    for rate in RATES:
        at = f"@{rate:g}/s"

        async def measure(
            serving: AbstractAsyncContextManager[Server],
            who: str,
            transport: str | None,
            real: bool = True,
            spy: str | None = None,
            rate: float = rate,
        ) -> dict[str, Any]:
            ctx.say(f"bench: fanout: {who} ...")
            measured = await _measure(
                serving, rate, warmup, seconds, transport, url if real else None, spy
            )
            _check(result, who, measured)
            return measured

        base = await measure(baseline_server(), f"baseline WS {at}", "ws", real=False)
        none = await measure(real_server(url), f"server, no subscriber {at}", None)
        ws = await measure(
            real_server(url), f"server WS {at}", "ws", spy=profile if rate == 100 else None
        )
        fs, fb = ws["final"], base["final"]
        result.add(f"e2e p50 ms {at}", fs["p50_ms"], fb["p50_ms"])
        limited = rate == E2E_TARGET_RATE
        result.add(
            f"e2e p99 ms {at}",
            fs["p99_ms"],
            fb["p99_ms"],
            f"<= {E2E_LIMIT:g}x baseline" if limited else "",
            ratio_at_most(E2E_LIMIT) if limited else None,
        )
        result.add(f"e2e max ms {at}", fs["max_ms"], fb["max_ms"])
        result.add(
            f"POST p99 ms {at} (vs none)",
            ws["writes"]["post_p99_ms"],
            none["writes"]["post_p99_ms"],
            f"<= {POST_LIMIT:g}x no subscriber",
            ratio_at_most(POST_LIMIT),
        )
        result.add(f"server CPU % writing {at}", ws["server_cpu"] * 100, base["server_cpu"] * 100)
        if rate == SSE_RATE:
            sse = await measure(real_server(url), f"server SSE {at}", "sse")
            result.add(f"SSE e2e p50 ms {at} (vs WS)", sse["final"]["p50_ms"], fs["p50_ms"])
            result.add(
                f"SSE e2e p99 ms {at} (vs WS)",
                sse["final"]["p99_ms"],
                fs["p99_ms"],
                f"<= {SSE_LIMIT:g}x WebSocket",
                ratio_at_most(SSE_LIMIT),
            )
            result.add(
                f"SSE server CPU % {at} (vs WS)", sse["server_cpu"] * 100, ws["server_cpu"] * 100
            )
    result.extra.update(subscribers=SUBSCRIBERS, rates=RATES, warmup_s=warmup, seconds=seconds)
    return result
