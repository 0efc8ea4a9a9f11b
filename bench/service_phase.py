"""Service layer: concurrent FunkoService.create calls over the group-committing store,
wired as the app wires it (same pool settings, projection, repository, read model).

It also times the hash chain, which append_batch computes in the database: the events the run
appended are hashed again there, as the append hashed them, and their µs per event stands
beside the append path's (1 / the measured events/s).
"""

import asyncio
import time
from typing import Any

import asyncpg

from bench.context import Context
from bench.db import log_head
from bench.funkos import random_fields
from bench.result import Result, ratio_at_most, throughput
from bench.stats import Window
from domain.services import FunkoService
from infrastructure import bootstrap

TASKS = 64
HASHING_SHARE = 0.10  # target: the hash chain at most this share of the append path


async def _worker(service: FunkoService, window: Window) -> None:
    while window.open():
        fields = random_fields()
        started = time.perf_counter()
        try:
            await service.create(fields, "bench")
        except Exception as error:  # counted and shown, never hidden
            window.failed(repr(error))
            continue
        window.record(started)


async def _hashing(url: str, after: int, events_per_s: float) -> dict[str, Any]:
    """Rehash the events the run appended as append_batch hashes them (event_link, once per
    event, in the database), timed: the chain's µs per event."""
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        appended = await conn.fetchval(
            "SELECT count(event_link(hash, e)) FROM events e WHERE position > $1", after
        )
        seconds = time.perf_counter() - started
    finally:
        await conn.close()
    hashing_us = seconds / appended * 1e6 if appended else 0.0
    append_us = 1e6 / events_per_s if events_per_s else 0.0
    share = hashing_us / append_us if append_us else 0.0
    return {
        "events_appended": appended,
        "hashing_seconds": seconds,
        "hashing_us_per_event": hashing_us,
        "append_us_per_event": append_us,
        "hashing_share_of_append": share,
        "target": HASHING_SHARE,
        "hashing_within_target": bool(append_us) and share <= HASHING_SHARE,
    }


def _hash_chain(result: Result, chain: dict[str, Any]) -> None:
    """The hash chain's µs per event beside its own baseline, the append path's."""
    result.add(
        "hash chain µs/event",
        chain["hashing_us_per_event"],
        chain["append_us_per_event"],
        f"<= {HASHING_SHARE:g}x append path",
        ratio_at_most(HASHING_SHARE),
    )
    result.notes.append(
        f"hash chain: {chain['hashing_share_of_append']:.1%} of the append path's µs/event"
        f" (target <= {chain['target']:.0%})"
    )
    result.extra["hash_chain"] = chain


async def run(ctx: Context) -> Result:
    before = await log_head(ctx.url)
    async with bootstrap.running(ctx.url) as parts:
        window = Window(ctx.config.warmup, ctx.config.seconds)
        await asyncio.gather(*(_worker(parts.service, window) for _ in range(TASKS)))
    summary = window.summary()
    result = throughput(summary)
    result.baseline += "; hash chain: the append path's µs/event (1 / events/s)"
    result.extra["tasks"] = TASKS
    _hash_chain(result, await _hashing(ctx.url, before, summary["events_per_s"]))
    return result
