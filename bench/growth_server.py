"""The growth phase against ``run.py serve`` (one worker, as the ``http`` phase) on a restored
log, in this order: catalog GETs, sequential; PATCHes of the long-history Funko taking turns
with fresh ones', sequential; WebSocket resumes from ``after=head-1000`` to CAUGHT_UP; POST
creates under wrk (64 connections) last, since they grow the catalog."""

import statistics
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import aiohttp
import orjson

from bench.context import Context
from bench.db import log_head
from bench.funkos import random_body
from bench.growth_logs import Log
from bench.procs import HOST, Server, Subscribers, real_server
from bench.stats import percentile
from bench.wrk import Load, wrk

PATH = "/api/v1/funkos"
QUERIES = {  # the catalog's first page (by name, 10 a page) unless a page is named
    "first page": "",
    "rare name": "name=zyzzy",  # bench.replay_files.RARE, in five names at any size
    "category": "category=ANIME",
    "price range": "minPrice=100&maxPrice=109.99",  # about 1% of the Funkos
    "page 2,000": "page=2000",
}
REQUESTS, WARMUP = 300, 20  # each catalog query, and each side of the PATCHes
FRESH = 20  # fresh Funkos the PATCHes go round (each ends with REQUESTS / FRESH + 1 events)
RESUMES, RESUME_FROM = 7, 1000  # timed runs, after one untimed: the median counts


class Percentiles(NamedTuple):
    p50_ms: float
    p99_ms: float


class Query(NamedTuple):
    p50_ms: float
    p99_ms: float
    matched: int  # the page's totalElements


@dataclass(frozen=True)
class Measured:
    """What users of one log noticed."""

    catalog: dict[str, Query]
    patch_long: Percentiles
    patch_fresh: Percentiles
    resume_s: float  # the median
    resumes_exact: bool  # each got the last RESUME_FROM events, then CAUGHT_UP
    creates: Load


async def _timed(session: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> float:
    started = time.perf_counter()
    async with session.request(method, url, **kw) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {url}: {response.status}")
    return time.perf_counter() - started


def _p50_p99(seconds: list[float]) -> Percentiles:
    ordered = sorted(seconds)
    return Percentiles(percentile(ordered, 0.5) * 1000, percentile(ordered, 0.99) * 1000)


async def _catalog(session: aiohttp.ClientSession, base: str) -> dict[str, Query]:
    """p50 and p99 (ms) of each query, and how many Funkos each matched."""
    measured: dict[str, Query] = {}
    for name, query in QUERIES.items():
        url = f"{base}{PATH}?{query}"
        for _ in range(WARMUP):
            await _timed(session, "GET", url)
        seconds = [await _timed(session, "GET", url) for _ in range(REQUESTS)]
        async with session.get(url) as response:
            matched = (await response.json())["totalElements"]
        measured[name] = Query(*_p50_p99(seconds), int(matched))
    return measured


async def _patches(
    session: aiohttp.ClientSession, base: str, long: str
) -> tuple[Percentiles, Percentiles]:
    """p50 and p99 (ms) of stock PATCHes to the long-history Funko and to fresh ones, taken
    in turns."""
    fresh = []
    for _ in range(FRESH):
        async with session.post(f"{base}{PATH}", data=random_body()) as response:
            if response.status != 201:
                raise RuntimeError(f"POST {PATH}: {response.status}")
            fresh.append((await response.json())["id"])
    long_s: list[float] = []
    fresh_s: list[float] = []
    for n in range(WARMUP + REQUESTS):
        body = {"json": {"stock": n % 1000}}
        took = await _timed(session, "PATCH", f"{base}{PATH}/{long}", **body)
        took_fresh = await _timed(session, "PATCH", f"{base}{PATH}/{fresh[n % FRESH]}", **body)
        if n >= WARMUP:
            long_s.append(took)
            fresh_s.append(took_fresh)
    return _p50_p99(long_s), _p50_p99(fresh_s)


async def _resume_once(server: Server, url: str) -> tuple[float, bool]:
    after = await log_head(url) - RESUME_FROM
    async with Subscribers.connect(server.port, 1, after=after, timing=False) as subs:
        ready = await subs.ready()
        await subs.finish([])
    exact = ready["connected"] == 1 and ready["frames_before_caught_up"] == RESUME_FROM
    return float(ready["catch_up_s"]), exact


async def _resume(server: Server, url: str) -> tuple[float, bool]:
    """Median seconds from connecting with ``after=head-1000`` to CAUGHT_UP (after an untimed
    run), and whether every run got exactly those 1,000 events first."""
    runs = [await _resume_once(server, url) for _ in range(RESUMES + 1)]
    return statistics.median(s for s, _ in runs[1:]), all(exact for _, exact in runs)


async def measure(ctx: Context, log: Log) -> Measured:
    """Everything the growth phase measures against ``run.py serve`` on ``log``."""
    async with real_server(log.url) as server:
        base = f"http://{HOST}:{server.port}"
        headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession(headers=headers) as session:
            catalog = await _catalog(session, base)
            patches = await _patches(session, base, log.written.long_funko)
        resume, exact = await _resume(server, log.url)
        body = orjson.loads(random_body())
        await wrk(f"{base}{PATH}", body, server.token, ctx.config.warmup, keyed=False)
        load = await wrk(f"{base}{PATH}", body, server.token, ctx.config.seconds, keyed=False)
    return Measured(catalog, *patches, resume, exact, load)
