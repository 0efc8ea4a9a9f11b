"""Audit: ``run.py replay`` beside a bare asyncpg pager, and the server's memory while it
streams the whole log as NDJSON.

Set-up: a throwaway database of its own, filled in SQL with max(BENCH_AUDIT_EVENTS,
BENCH_AUDIT_BIG) events (200,000 and 1,000,000 by default; bench/audit_seed.py: the catalog's
position set to the head, so the server folds nothing). Replay: the last BENCH_AUDIT_EVENTS.
Both sides are subprocesses timed from spawn to exit: ``run.py replay --after A > /dev/null``
(DATABASE_URL set, stderr discarded) and ``python -m bench.pager URL A`` (asyncpg keyset pages
of 1,000 ``SELECT *`` rows, dropped).
An untimed pager pass warms the caches; then baseline, replay, baseline, replay, and each
side's faster pass counts. Each side's start-up (the same command with nothing after A) is
measured once, to read small runs by.
NDJSON: bench/ndjson_memory.py, the whole log beside its last TAIL events.
"""

import asyncio
import os
import sys
import time

from bench import audit_seed, ndjson_memory
from bench.context import Context
from bench.db import throwaway_database
from bench.result import Figure, Result, ratio_at_least
from infrastructure.settings import ROOT

REPEATS = 2  # timed passes of each side, alternating; the faster counts
MIN_RATIO = 0.5
TAIL = 10_000
GROWTH_MIB = 8.0  # streaming the whole log may grow RSS this much more than the tail does
BASELINE = (
    "replay: bench.pager subprocess (asyncpg keyset SELECT * by 1,000), best of"
    f" {REPEATS} each; NDJSON: the same server streaming the last {TAIL:,} events"
)


async def _timed(argv: list[str], url: str, stdout: int) -> tuple[float, int, bytes, bytes]:
    """Seconds from spawn to exit, the exit code, stdout (if piped) and stderr."""
    env = {**os.environ, "DATABASE_URL": url}
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=ROOT, env=env, stdout=stdout, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return time.perf_counter() - started, proc.returncode or 0, out or b"", err


async def _pager(url: str, after: int, result: Result) -> tuple[float, int]:
    """(seconds, events paged) of one baseline pass."""
    argv = [sys.executable, "-m", "bench.pager", url, str(after)]
    seconds, code, out, err = await _timed(argv, url, asyncio.subprocess.PIPE)
    result.failed(f"bench.pager exited with {code}: {err[-300:]!r}", int(code != 0))
    return seconds, int(out) if code == 0 else 0


async def _replay(url: str, after: int, result: Result) -> tuple[float, bool]:
    """(seconds, exited 0) of one ``run.py replay`` pass."""
    argv = [sys.executable, "run.py", "replay", "--after", str(after)]
    seconds, code, _, err = await _timed(argv, url, asyncio.subprocess.DEVNULL)
    result.failed(f"run.py replay exited with {code}: {err[-300:]!r}", int(code != 0))
    return seconds, code == 0


async def _replays(url: str, head: int, events: int, result: Result) -> None:
    after = head - events
    await _pager(url, after, result)  # warm-up
    base, cli = [], []
    for _ in range(REPEATS):
        base.append(await _pager(url, after, result))
        cli.append(await _replay(url, after, result))
    base_s, cli_s = min(s for s, _ in base), min(s for s, _ in cli)
    result.add(
        "replay events/s (CLI)",
        events / cli_s,
        events / base_s,
        f">= {MIN_RATIO:g}x baseline",
        ratio_at_least(MIN_RATIO),
    )
    result.add("replay seconds", cli_s, base_s)
    result.add(
        "start-up seconds (0 events)",
        (await _replay(url, head, result))[0],
        (await _pager(url, head, result))[0],
    )
    result.checks[f"pager: {events} events in every pass"] = all(n == events for _, n in base)
    result.checks["run.py replay: exit 0 in every pass"] = all(ok for _, ok in cli)
    result.extra["replay"] = {
        "after": after,
        "events": events,
        "pager_seconds": [s for s, _ in base],
        "cli_seconds": [s for s, _ in cli],
    }


def _grew_little(figure: Figure) -> bool:
    return figure.baseline is not None and figure.value - figure.baseline <= GROWTH_MIB


async def _ndjson(url: str, head: int, result: Result) -> None:
    measured = await ndjson_memory.run(url, head, TAIL)
    full, tail = measured["full"], measured["tail"]
    target = f"<= baseline+{GROWTH_MIB:g} MiB"
    result.add(
        "MiB RSS growth, NDJSON", full["growth_mib"], tail["growth_mib"], target, _grew_little
    )
    result.add(
        "MiB RSS before, NDJSON", full["rss_before_kib"] / 1024, tail["rss_before_kib"] / 1024
    )
    result.add("MiB streamed, NDJSON", full["bytes"] / 2**20, tail["bytes"] / 2**20)
    result.add(
        "events/s streamed, NDJSON",
        full["events"] / full["seconds"],
        tail["events"] / tail["seconds"],
    )
    for name, got, count in (("whole log", full, head), ("tail", tail, min(TAIL, head))):
        result.checks[f"NDJSON {name}: 200, {count} lines, X-Log-Head {head}"] = (
            got["status"] == 200 and got["events"] == count and got["head"] == head
        )
    result.extra["ndjson"] = measured


async def run(ctx: Context) -> Result:
    """Seed max(BENCH_AUDIT_EVENTS, BENCH_AUDIT_BIG) events, replay the last
    BENCH_AUDIT_EVENTS, stream them all; on a database of its own, filled in SQL."""
    events, big, say = ctx.config.audit_events, ctx.config.audit_big, ctx.say
    result = Result(BASELINE)
    started = time.perf_counter()
    async with throwaway_database() as url:
        seeded = await audit_seed.seed(url, max(events, big))
        say(f"bench: audit: seeded {seeded['events']} events in {seeded['seconds']:.1f} s")
        await _replays(url, seeded["events"], events, result)
        say(f"bench: audit: replay of {events} events measured; streaming NDJSON ...")
        await _ndjson(url, seeded["events"], result)
    result.extra.update(seed=seeded, seconds=time.perf_counter() - started)
    return result
