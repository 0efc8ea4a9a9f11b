"""HTTP creates under wrk's load (64 connections), each server on a fresh database of its own:
the service (``run.py serve``) with one worker, with one per core, and with an Idempotency-Key
on every request; beside a plain CRUD server on the same stack (bench/crud_server.py) and the
same stack's ceiling, answering with no database (bench/ceiling_server.py)."""

import asyncio
import os
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial

import orjson

from bench.context import Context
from bench.db import count_events, count_rows, throwaway_database
from bench.funkos import random_body
from bench.procs import HOST, free_port, logged_to, py_spy, record_profile, server, serving
from bench.result import Result, ratio_at_least, ratio_at_most
from bench.wrk import CONNECTIONS, Load, wrk
from web.auth import issue_token

PATH = "/api/v1/funkos"
CORES = os.cpu_count() or 1


@asynccontextmanager
async def _service(url: str, workers: int) -> AsyncIterator[tuple[int, int, str]]:
    """run.py serve with ``workers``: (port, pid, an admin token)."""
    secret, port = secrets.token_urlsafe(32), free_port()
    async with logged_to("server") as log, server(url, port, secret, log, workers) as pid:
        yield port, pid, issue_token(secret, "admin", "bench", 3600)


@asynccontextmanager
async def _reference(module: str, *args: str) -> AsyncIterator[int]:
    """``python -m module PORT *args``: its port."""
    port = free_port()
    async with (
        logged_to(module) as log,
        serving([sys.executable, "-m", module, str(port), *args], port, log),
    ):
        yield port


async def _load(
    ctx: Context, port: int, token: str, rows: Callable[[], Awaitable[int]], keyed: bool = False
) -> tuple[Load, int]:
    """A warm-up, then the measured load, and how many ``rows`` it wrote."""
    url, body = f"http://{HOST}:{port}{PATH}", orjson.loads(random_body())
    await wrk(url, body, token, ctx.config.warmup, keyed)
    before = await rows()
    load = await wrk(url, body, token, ctx.config.seconds, keyed)
    return load, await rows() - before


async def _nothing() -> int:
    return 0


def _result(load: Load, baseline: str, logged: int | None) -> Result:
    result = Result(baseline)
    result.add("events/s", load.requests_per_s)
    result.add("p50 ms", load.p50_ms)
    result.add("p99 ms", load.p99_ms)
    result.failed("non-2xx answers", load.not_2xx)
    result.failed("socket errors", load.socket_errors)
    result.extra.update(connections=CONNECTIONS, requests=load.requests)
    if logged is not None:  # every answered create is in the log, and nothing else
        fits = 0 <= logged - load.requests <= 2 * CONNECTIONS  # in flight at either end
        said = f"({logged} written, {load.requests} answered, {CONNECTIONS} in flight each end)"
        result.checks[f"rows written = 201s {said}"] = fits
    return result


async def crud(ctx: Context) -> Result:
    """The plain CRUD server: one transaction per create."""
    async with throwaway_database() as url, _reference("bench.crud_server", url) as port:
        load, logged = await _load(ctx, port, "", partial(count_rows, url, "crud_funkos"))
    result = _result(load, "itself: what the service is measured against", logged)
    return result


async def ceiling(ctx: Context) -> Result:
    """The same stack with no database: the fastest any server on it can answer."""
    async with _reference("bench.ceiling_server") as port:
        load, _ = await _load(ctx, port, "", _nothing)
    result = _result(load, "itself: no database", None)
    result.add("ceiling events/s", load.requests_per_s)
    return result


async def service(ctx: Context, workers: int = 1, keyed: bool = False) -> Result:
    """The service's creates through HTTP."""
    profile = ctx.config.profile
    spy = py_spy() if profile and workers == 1 and not keyed else None
    async with throwaway_database() as url, _service(url, workers) as (port, pid, token):
        spying = None
        if spy and profile:
            delay, seconds = ctx.config.warmup, ctx.config.seconds
            spying = asyncio.create_task(record_profile(spy, pid, delay, seconds, profile))
        load, logged = await _load(ctx, port, token, partial(count_events, url), keyed)
        if spying is not None:
            await spying
    result = _result(load, "the CRUD server's same figures (ceiling: the ceiling's)", logged)
    result.extra.update(workers=workers, idempotency_keys=keyed)
    rate, p50, p99 = result.figures
    if keyed:  # beside the same server without keys
        result.baseline = "the same server's figures without Idempotency-Keys"
        rate.target, rate.meets = ">= 0.91x (<= 10% dearer)", ratio_at_least(1 / 1.1)
        p50.target, p50.meets = "<= 1.1x", ratio_at_most(1.1)
    elif workers == 1:
        rate.target, rate.meets = ">= 1.5x CRUD", ratio_at_least(1.5)
        p99.target, p99.meets = "<= CRUD", ratio_at_most(1.0)
        result.add("ceiling events/s", rate.value, target=">= 0.35x", meets=ratio_at_least(0.35))
    else:
        rate.target, rate.meets = ">= 2x CRUD", ratio_at_least(2.0)
    return result


async def service_on_every_core(ctx: Context) -> Result:
    return await service(ctx, workers=CORES)


async def service_keyed(ctx: Context) -> Result:
    return await service(ctx, workers=1, keyed=True)
