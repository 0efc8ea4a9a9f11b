"""Baseline: the simplest serialised append, one event per transaction, in plain SQL.

Each of CONNECTIONS connections loops: BEGIN; LOCK TABLE … IN EXCLUSIVE MODE; INSERT one
event-sized jsonb row; NOTIFY; COMMIT. The lock serialises every append, as a log must.
"""

import asyncio
import itertools
import time

import asyncpg

from bench.context import Context
from bench.funkos import event_sized_document
from bench.result import Result, throughput
from bench.stats import Window

CONNECTIONS = 16
SETUP = """
CREATE TABLE IF NOT EXISTS bench_baseline (
    id         bigserial   PRIMARY KEY,
    body       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
INSERT = "INSERT INTO bench_baseline (body) VALUES ($1::jsonb)"


async def _worker(conn: asyncpg.Connection, window: Window, bodies: list[str]) -> None:
    for body in itertools.cycle(bodies):
        if not window.open():
            return
        started = time.perf_counter()
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE bench_baseline IN EXCLUSIVE MODE")
                await conn.execute(INSERT, body)
                await conn.execute("NOTIFY bench_baseline")
        except (asyncpg.PostgresError, OSError) as error:
            window.failed(repr(error))
            continue
        window.record(started)


async def run(ctx: Context) -> Result:
    """The write phases' baseline: its figures stand beside themselves (ratios 1.00x)."""
    conns = [await asyncpg.connect(ctx.url) for _ in range(CONNECTIONS)]
    try:
        await conns[0].execute(SETUP)
        bodies = [event_sized_document() for _ in range(1024)]
        window = Window(ctx.config.warmup, ctx.config.seconds)
        await asyncio.gather(*(_worker(c, window, bodies) for c in conns))
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    result = throughput(window.summary(), is_baseline=True)
    result.extra["connections"] = CONNECTIONS
    result.extra["body_bytes"] = sum(map(len, bodies)) // len(bodies)
    return result
