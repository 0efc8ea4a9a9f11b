"""Growth: the same measurements on a small log and on a big one, side by side (issue 15).

Each log is made up (bench/replay_files.py) and restored into a database of its own
(bench/growth_logs.py): the small one holds SMALL events (10,000 shaped like the big one,
plus the long-history Funko's 10,000), the big one BENCH_GROWTH_EVENTS (10,000,000: a
million live Funkos). Then ``run.py serve`` on each (bench/growth_server.py): catalog
queries, PATCHes, WebSocket resumes, POST creates. Each figure of the big log stands beside
the small log's; a PATCH of the long-history Funko beside a fresh one's on the same log; a
restore and a verify beside their physical floors (bench/growth_logs.py).
"""

from bench.context import Context
from bench.growth_logs import Log, restored
from bench.growth_server import QUERIES, RESUME_FROM, Measured, measure
from bench.result import Result, at_least, ratio_at_least, ratio_at_most

SMALL = 20_000
EVENTS_PER_S = 100_000
BASELINE = (
    "the small log's same figure; PATCH of the long history: a fresh Funko's on the same"
    " log; restore: asyncpg COPY of the file's lines into a one-column table; verify: asyncpg"
    " COPY events TO STDOUT"
)


def _label(events: int) -> str:
    """10,000,000 as "10M", 20,000 as "20k"."""
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if events >= size:
            return f"{events / size:g}{unit}"
    return str(events)


def _side_by_side(result: Result, small: Measured, big: Measured) -> None:
    """The big log's figures beside the small log's."""
    rate = big.creates.requests_per_s, small.creates.requests_per_s
    result.add("POST creates/s", *rate, ">= 0.9x", ratio_at_least(0.9))
    resume = big.resume_s * 1000, small.resume_s * 1000
    result.add("resume ms to CAUGHT_UP", *resume, "<= 1.1x", ratio_at_most(1.1))
    for name in QUERIES:
        got, had = big.catalog[name], small.catalog[name]
        result.add(f"catalog p50 ms, {name}", got.p50_ms, had.p50_ms)
        result.add(f"catalog p99 ms, {name}", got.p99_ms, had.p99_ms, "<= 2x", ratio_at_most(2))


def _per_log(result: Result, label: str, log: Log, measured: Measured, big: bool) -> None:
    """A log's PATCHes beside a fresh Funko's; its restore and verify beside their floors."""
    long, fresh = measured.patch_long, measured.patch_fresh
    for name, got, had in (("p50", long.p50_ms, fresh.p50_ms), ("p99", long.p99_ms, fresh.p99_ms)):
        result.add(f"PATCH {name} ms, long, {label}", got, had, "<= 2x fresh", ratio_at_most(2))
    events, target = log.written.events, f">= {EVENTS_PER_S:,}/s" if big else ""
    meets = at_least(EVENTS_PER_S) if big else None
    restore = events / log.restore_s, events / log.copy_in_s
    result.add(f"restore events/s, {label}", *restore, target, meets)
    verify = events / log.verify_s, events / log.copy_out_s
    result.add(f"verify events/s, {label}", *verify, target, meets)


def _about(result: Result, label: str, log: Log, measured: Measured) -> None:
    """A log's notes (its make-up, its build's times, what each query matched) and checks."""
    written = log.written
    result.notes.append(
        f"{label} log: {written.events:,} events, {written.live:,} live Funkos, the long"
        f" history {written.long_funko}; made in {log.generate_s:.1f} s, restored in"
        f" {log.restore_s:.1f} s, verified in {log.verify_s:.1f} s, VACUUM ANALYZE"
        f" {log.vacuum_s:.1f} s, {log.bytes_on_disk / 2**20:,.0f} MiB on disk"
    )
    matched = ", ".join(f"{name} {q.matched:,}" for name, q in measured.catalog.items())
    result.notes.append(f"{label} log: Funkos matched: {matched}")
    checks = result.checks
    same_hash = log.restored.rsplit(" ", 1)[-1] == log.verified.rsplit(" ", 1)[-1]
    checks[f"{label}: restore and verify end on the same head hash"] = same_hash
    checks[f"{label}: replay gives the file back byte for byte"] = log.replays_as_written
    resumed = f"{label}: every resume got the last {RESUME_FROM} events, then CAUGHT_UP"
    checks[resumed] = measured.resumes_exact
    rare = measured.catalog["rare name"].matched == written.rare
    checks[f"{label}: the rare name matched {written.rare} Funkos"] = rare
    result.failed(f"{label}: non-2xx answers to POST", measured.creates.not_2xx)
    result.failed(f"{label}: socket errors under POST", measured.creates.socket_errors)


async def run(ctx: Context) -> Result:
    """Build the small log, then the big one, measuring each while its database exists."""
    ran: list[tuple[str, Log, Measured]] = []
    for events in (SMALL, max(SMALL, ctx.config.growth_events)):
        label = _label(events)
        ctx.say(f"bench: growth: making and restoring a {label}-event log ...")
        async with restored(events) as log:
            ctx.say(f"bench: growth: {label}: restored in {log.restore_s:.1f} s; measuring ...")
            ran.append((label, log, await measure(ctx, log)))
    result = Result(BASELINE)
    (_, small_log, small), (_, big_log, big) = ran
    _side_by_side(result, small, big)
    result.add("MiB on disk", big_log.bytes_on_disk / 2**20, small_log.bytes_on_disk / 2**20)
    for label, log, measured in ran:
        _per_log(result, label, log, measured, big=log is big_log)
    for label, log, measured in ran:
        _about(result, label, log, measured)
    return result
