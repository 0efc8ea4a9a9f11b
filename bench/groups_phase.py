"""Consumer groups (issue 17) against one ``run.py serve`` (one worker, uvloop, as the other
phases run it), each figure beside a plain WebSocket subscriber's, or a group's, measured on the
same server in the same run.

- Backlog drain: DRAIN_EVENTS creates (one event on each of as many Funkos) are committed
  first, through the service layer. The baseline is a plain subscriber, ``GET
  /ws/v1/funkos?after=<start>``, from before its connection to CAUGHT_UP (the median of
  PLAIN_PASSES passes). Then a fresh group per run, created with ``startAfter=<start>``, with 1,
  2 and 4 members (prefetch 100, the contract's default; and 1 member at prefetch 1,000, for
  comparison), each acknowledging at once, in one ACK, the frames one read brought: from before
  the first member connects to the ACK of the last of those events (bench.memberclient).
- Processing cost: WORK_EVENTS more creates; members that take WORK_MS per event (a sleep, one
  event at a time per member, each ACKed alone after it); 2 members' events/s beside 1 member's,
  and 1 member's beside the rate of the same sleeps alone (a member's ceiling: uvloop's timers
  make a 1 ms sleep last longer).
- Live: a writer process (bench.writer) creates Funkos at LIVE_RATE per second for BENCH_WARMUP
  + BENCH_SECONDS while LIVE_MEMBERS members of a group created at the head (acknowledging at
  once) and one plain subscriber (live, no ``after``) are connected. Latency is end to end as
  in the fan-out phase: from the writer's send of each create (time.monotonic(), matched to its
  event by the 201's X-Log-Position) to its first receipt (a member's, the subscriber's), over
  the writes after the warm-up: p50, p99, max; the group's beside the subscriber's.

Each group is deleted after its run. The member process and the subscriber process share the
machine with the server and PostgreSQL; each run notes the CPU the server and its PostgreSQL
backends used over it.
"""

from typing import Any

from bench import group_runs
from bench.context import Context
from bench.db import count_events, log_head, positions_after
from bench.group_admin import Admin
from bench.group_notes import check, note
from bench.group_runs import Drain
from bench.procs import real_server
from bench.replay_phase import seed
from bench.result import Result, ratio_at_least

DRAIN_EVENTS = 20_000
PREFETCH = 100  # the contract's default
# (members, prefetch) of each drain; the last only for comparison, without a target
DRAINS = ((1, PREFETCH), (2, PREFETCH), (4, PREFETCH), (1, 1000))
PLAIN_PASSES = 3
WORK_EVENTS = 3_000
WORK_MS = 1.0
WORK_MEMBERS = (1, 2)
SLEEPS = 1_000  # sleeps of WORK_MS timed alone: a working member's ceiling
LIVE_RATE = 500.0  # writes/s
LIVE_MEMBERS = 2
DRAIN_TARGET = 0.5  # a group's drain at least half the plain subscriber's pace (issue 17)
WORK_TARGET = 1.6  # 2 working members at least 1.6x one


def drain_key(members: int, prefetch: int) -> str:
    return f"drain {members}" + ("" if prefetch == PREFETCH else f", prefetch {prefetch}")


async def _created(ctx: Context, events: int) -> tuple[int, list[int]]:
    """Create ``events`` Funkos through the service layer: the head before, the new positions."""
    start = await log_head(ctx.url)
    seeded = await seed(ctx.url, await count_events(ctx.url) + events)
    ctx.say(f"bench: groups: {seeded['written']} creates in {seeded['seconds']:.1f} s")
    return start, await positions_after(ctx.url, start)


async def run(ctx: Context) -> Result:
    """Drain (a plain subscriber, then each of DRAINS), processing cost (1, 2), live."""
    url, runs = ctx.url, dict[str, Any]()
    start, backlog = await _created(ctx, DRAIN_EVENTS)
    async with real_server(url) as server, Admin.of(server) as admin:
        ctx.say("bench: groups: drain ...")
        passes = [await group_runs.plain(server, url, start, backlog) for _ in range(PLAIN_PASSES)]
        runs["plain"] = sorted(passes, key=lambda p: float(p["events_per_s"]))[PLAIN_PASSES // 2]
        runs["plain"].update(passes=[p["events_per_s"] for p in passes])
        runs["plain"].update(all_whole=all(p["whole"] for p in passes))
        for count, prefetch in DRAINS:
            drain = Drain(f"bench-drain-{count}-{prefetch}", start, backlog, count, 0.0, prefetch)
            runs[drain_key(count, prefetch)] = await group_runs.drained(server, admin, url, drain)
        ctx.say("bench: groups: processing cost ...")
        runs["sleeps/s"] = await group_runs.sleeps_per_second(WORK_MS / 1000, SLEEPS)
        after, work = await _created(ctx, WORK_EVENTS)
        for count in WORK_MEMBERS:
            drain = Drain(f"bench-work-{count}", after, work, count, WORK_MS, PREFETCH)
            runs[f"work {count}"] = await group_runs.drained(server, admin, url, drain)
        ctx.say(f"bench: groups: live at {LIVE_RATE:g} writes/s ...")
        warmup, seconds = ctx.config.warmup, ctx.config.seconds
        writes = (LIVE_RATE, int(LIVE_RATE * (warmup + seconds)), int(LIVE_RATE * warmup))
        runs["live"] = await group_runs.live(server, admin, url, writes, LIVE_MEMBERS)
    return _result(runs)


def _result(runs: dict[str, Any]) -> Result:
    result = Result(
        "drain: a plain WebSocket subscriber from the same start to CAUGHT_UP (median of"
        f" {PLAIN_PASSES}); {WORK_MS:g} ms/event: 1 member, and sleeps alone; live: a plain"
        " live subscriber's"
    )
    for count, prefetch in DRAINS:
        targeted = prefetch == PREFETCH
        result.add(
            f"{drain_key(count, prefetch)}: ev/s",
            runs[drain_key(count, prefetch)]["events_per_s"],
            runs["plain"]["events_per_s"],
            f">= {DRAIN_TARGET:g}x plain WS" if targeted else "",
            ratio_at_least(DRAIN_TARGET) if targeted else None,
        )
    one, two = (runs[f"work {n}"]["events_per_s"] for n in WORK_MEMBERS)
    result.add(f"{WORK_MS:g} ms/ev: 1 member vs sleeps", one, runs["sleeps/s"])
    target = f">= {WORK_TARGET:g}x 1 member"
    result.add(f"{WORK_MS:g} ms/ev: 2 vs 1 member", two, one, target, ratio_at_least(WORK_TARGET))
    live = runs["live"]
    for name in ("p50", "p99", "max"):
        result.add(
            f"live {name} ms, group vs WS", live["group"][f"{name}_ms"], live["ws"][f"{name}_ms"]
        )
    check(result, runs)
    note(result, runs)
    result.extra.update(runs=runs)
    return result
