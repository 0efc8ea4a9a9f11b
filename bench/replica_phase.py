"""Replica: the same reads from a server on the primary alone and from one that reads a
streaming replica (DATABASE_REPLICA_URL), while a steady writer keeps the replica replaying
(issue 16).

Stage (bench/replica_stage.py): a private primary and its hot-standby replica on this host,
the primary restored from a made-up log of EVENTS events (EVENTS / 10 live Funkos), the replica
caught up; three ``run.py serve``, one worker each: one takes the writes, A reads the primary,
B reads the replica. bench.churn writes through the first at RATE a second throughout, half
creates, half stock changes. A and B then take turns, A B then B A, each turn (bench/
replica_turns.py): catalog pages under wrk for half of BENCH_SECONDS, two WebSocket replays
from ``after=0`` to CAUGHT_UP, two reads of the whole log as NDJSON. Meanwhile B's /metrics
and the primary's pg_stat_replication are sampled (bench/replica_watch.py), and B's reads are
counted by the database that answered them, so the output says which one did.
"""

import statistics
from dataclasses import asdict

import aiohttp
import asyncpg

from bench.context import Context
from bench.replica_stage import Seeded, postmaster, seeded_pair, serving
from bench.replica_turns import KINDS, Side, Turns, churning
from bench.replica_watch import Samples, spread, watching
from bench.result import Result

EVENTS = 50_000
RATE = 100.0  # writes a second, through the third server
ROUNDS = 2  # turns of each side: A B, then B A
SHARE = 0.9  # of B's reads of each kind the replica must answer for B's figures to be its
BASELINE = (
    "the same server (run.py serve, one worker) on the primary alone, measured in turns with"
    " the replica-reading one under the same writes; lag figures stand alone"
)


async def _warm(turns: Turns, sides: tuple[Side, ...], seconds: float) -> None:
    """An untimed turn of each side, on copies: code paths loaded, pools and caches full."""
    for side in sides:
        await turns.turn(Side(side.name, side.server), seconds)


async def _measure(ctx: Context, seeded: Seeded, result: Result) -> tuple[Side, Side, Samples]:
    pair = seeded.pair
    processes = {"primary PG": postmaster(pair.primary), "replica PG": postmaster(pair.replica)}
    async with (
        serving(pair) as servers,
        aiohttp.ClientSession() as session,
        churning(servers.writes, RATE) as churn,
    ):
        a, b = Side("primary", servers.primary), Side("replica", servers.replica)
        turns = Turns(session, processes, servers.auditor)
        ctx.say("bench: replica: servers up, writer writing; warming up ...")
        await _warm(turns, (a, b), ctx.config.warmup)
        async with watching(b.base, pair.primary_url, pair.replica_url) as samples:
            for order in ((a, b), (b, a)):
                for side in order:
                    ctx.say(f"bench: replica: {side.name} server's turn ...")
                    await turns.turn(side, ctx.config.seconds / ROUNDS)
    result.notes.append(
        f"writer: {churn['sent']:,} writes at {churn['rate']:.0f}/s ({churn['posts']:,} POST,"
        f" {churn['patches']:,} PATCH), p50 {churn['p50_ms']:.1f} ms, p99 {churn['p99_ms']:.1f}"
        f" ms; {churn['errors']} errors {churn['error_samples']}"
    )
    result.failed(f"writer: {churn['error_samples']}", churn["errors"])
    result.extra["writer"] = churn
    return a, b, samples


def _middle(values: list[float]) -> float:
    """The median (0 when a side measured nothing: its errors say why)."""
    return statistics.median(values) if values else 0.0


def _catalog_rate(side: Side) -> float:
    return _middle([load.requests_per_s for load in side.loads])


def _catalog_p50(side: Side) -> float:
    return _middle([load.p50_ms for load in side.loads])


def _catalog_p99(side: Side) -> float:
    return _middle([load.p99_ms for load in side.loads])


def _cpu_per_read(side: Side) -> float:
    requests = sum(load.requests for load in side.loads)
    return side.cpu_s.get("server", 0.0) / requests * 1e6 if requests else 0.0


def _replay_rate(side: Side) -> float:
    return _middle([p.events / p.seconds for p in side.replays])


def _ndjson_rate(side: Side) -> float:
    return _middle([p.events / p.seconds for p in side.ndjson])


FIGURES = {  # each B's beside A's, the median of its turns or passes
    "catalog reads/s": _catalog_rate,
    "catalog p50 ms": _catalog_p50,
    "catalog p99 ms": _catalog_p99,
    "server CPU us per read": _cpu_per_read,
    "replay events/s": _replay_rate,
    "NDJSON events/s": _ndjson_rate,
}


def _side_by_side(result: Result, a: Side, b: Side) -> None:
    """B's figures beside A's."""
    for name, figure in FIGURES.items():
        result.add(name, figure(b), figure(a))


def _lag(result: Result, samples: Samples) -> None:
    for name, values, scale in (
        ("lag ms", samples.lag_s, 1000.0),
        ("lag positions", samples.lag_positions, 1.0),
        ("replay_lag ms", samples.replay_lag_s, 1000.0),
    ):
        source = "(pg_stat)" if name.startswith("replay_lag") else "(/metrics)"
        for label, value in zip(("p50", "p99", "max"), spread(values), strict=True):
            result.add(f"{name} {label} {source}", value * scale)
    gap = ", ".join(
        f"{label} {v:.0f}"
        for label, v in zip(("p50", "p99", "max"), spread(samples.head_gap), strict=True)
    )
    reading = sum(samples.on_replica) / len(samples.on_replica) if samples.on_replica else 0.0
    result.notes.append(
        f"{len(samples.lag_s)} samples in {samples.seconds:.0f} s: log heads' gap (primary's -"
        f' replica\'s, positions) {gap}; funko_reads_target{{database="replica"}} = 1 in'
        f" {reading:.0%} of them"
    )
    result.failed(f"sampling: {samples.failed[:3]}", len(samples.failed))


def _where_reads_went(result: Result, a: Side, b: Side) -> None:
    """B's reads of each kind by the database that answered: the checks that B's figures are
    the replica's."""
    for kind in KINDS:
        reads = b.reads.get(kind)
        if reads is None:
            result.checks[f"replica server: its /metrics count its {kind} reads"] = False
            continue
        result.notes.append(
            f"replica server, {kind}: funko_reads grew by {reads.replica:,.0f} on the replica,"
            f" {reads.primary:,.0f} on the primary ({reads.replica_share:.1%} replica),"
            f" {reads.fallbacks:,.0f} fallbacks"
        )
        check = f"replica server: the replica answered >= {SHARE:.0%} of its {kind} reads"
        result.checks[check] = reads.replica_share >= SHARE
    result.checks["primary server: no replica configured (no funko_reads)"] = not a.reads
    for side in (a, b):
        spent = ", ".join(f"{name} {s:.1f}" for name, s in side.cpu_s.items())
        result.notes.append(f"{side.name} server's catalog loads: CPU s {spent}")
        for error in side.errors:
            result.failed(f"{side.name} server: {error}")


async def _complete(result: Result, url: str, sides: tuple[Side, ...]) -> None:
    """Each replay and NDJSON read got every event up to where it ended, by the primary."""
    conn = await asyncpg.connect(url)
    try:
        for side in sides:
            for what, passes in (("replay", side.replays), ("NDJSON read", side.ndjson)):
                counts = [
                    await conn.fetchval("SELECT count(*) FROM events WHERE position <= $1", p.upto)
                    for p in passes
                ]
                every = bool(passes) and all(
                    p.events == n for p, n in zip(passes, counts, strict=True)
                )
                result.notes.extend(
                    f"{side.name} server: a {what} got {p.events:,} events, the log holds"
                    f" {n:,} up to {p.upto:,}"
                    for p, n in zip(passes, counts, strict=True)
                    if p.events != n
                )
                result.checks[f"{side.name} server: every {what} got every event to its end"] = (
                    every
                )
    finally:
        await conn.close()


async def run(ctx: Context) -> Result:
    result = Result(BASELINE)
    ctx.say(f"bench: replica: building a primary and its replica, restoring {EVENTS:,} events ...")
    async with seeded_pair(EVENTS) as seeded:
        result.notes.append(
            f"stage: {EVENTS:,} events, {seeded.written.live:,} live Funkos; pair built in"
            f" {seeded.build_s:.1f} s, restored in {seeded.restore_s:.1f} s, replica caught up"
            f" {seeded.catch_up_s:.1f} s later"
        )
        a, b, samples = await _measure(ctx, seeded, result)
        await _complete(result, seeded.pair.primary_url, (a, b))
    _side_by_side(result, a, b)
    for side in (a, b):
        result.extra[side.name] = {
            "loads": [asdict(load) for load in side.loads],
            "replays": [asdict(p) for p in side.replays],
            "ndjson": [asdict(p) for p in side.ndjson],
            "cpu_s": side.cpu_s,
            "reads": {kind: asdict(reads) for kind, reads in side.reads.items()},
        }
    _lag(result, samples)
    _where_reads_went(result, a, b)
    return result
