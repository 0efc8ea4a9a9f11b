"""The groups phase's runs, each on the server under test: a plain subscriber's catch-up, a
group drained by its members, and live writes with both connected (see bench/groups_phase.py).
"""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from bench.db import log_head, positions_after
from bench.group_admin import Admin, Members, Usage
from bench.procs import Server, Subscribers, write_paced


async def plain(server: Server, url: str, start: int, expected: list[int]) -> dict[str, Any]:
    """One plain subscriber from ``start`` to CAUGHT_UP: events/s from before it connects."""
    usage = await Usage.start(server, url)
    async with Subscribers.connect(server.port, 1, after=start, timing=False) as subs:
        ready = await subs.ready()
        final = await subs.finish(expected)
    seconds, frames = ready["catch_up_s"], ready["frames_before_caught_up"]
    return {
        "ready": ready,
        "final": final,
        "events": len(expected),
        "seconds": seconds,
        "events_per_s": frames / seconds if seconds else 0.0,
        "whole": final["exact"] == 1 and frames == len(expected),
        **await usage.done(),
    }


@dataclass(frozen=True)
class Drain:
    """A group to drain: its name, the position it starts after, the events its members must
    acknowledge; how many members, the work each does per event (ms), their prefetch."""

    group: str
    start: int
    expected: list[int]
    members: int
    work_ms: float = 0.0
    prefetch: int = 100


async def drained(server: Server, admin: Admin, url: str, drain: Drain) -> dict[str, Any]:
    """A fresh group, its members until every expected event is acknowledged; its standing
    once the checkpoint has followed; then the group is deleted."""
    name, expected = drain.group, drain.expected
    await admin.create(name, drain.start)
    usage = await Usage.start(server, url)
    members = Members.connect(server, name, drain.members, drain.work_ms, drain.prefetch)
    async with members as process:
        ready = await process.ready()
        final = await process.finish(expected)
    used = await usage.done()
    settled = await admin.settled(name, expected[-1])
    await admin.delete(name)
    seconds, whole = final["seconds"], not final["missing"] and not final["unexpected"]
    return {
        "ready": ready,
        "final": final,
        "settled": settled,
        "events": len(expected),
        "events_per_s": len(expected) / seconds if seconds and whole else 0.0,
        "whole": whole and settled["checkpoint"] >= expected[-1],
        **used,
    }


async def live(
    server: Server, admin: Admin, url: str, writes: tuple[float, int, int], members: int
) -> dict[str, Any]:
    """The paced writer's ``(rate, count, measure_from)`` while ``members`` members of a group
    created at the head and one plain live subscriber are connected."""
    rate, count, measure_from = writes
    head = await log_head(url)
    await admin.create("bench-live", head)
    usage = await Usage.start(server, url)
    async with (
        Members.connect(server, "bench-live", members) as group,
        Subscribers.connect(server.port, 1) as subs,
    ):
        ready = {"group": await group.ready(), "ws": await subs.ready()}
        written = await write_paced(server, rate, count, measure_from)
        expected = await positions_after(url, head)
        got = {"group": await group.finish(expected, written["timed"])}
        got["ws"] = await subs.finish(expected, written["timed"])
    used = await usage.done()
    settled = await admin.settled("bench-live", expected[-1])
    await admin.delete("bench-live")
    whole = not got["group"]["missing"] and not got["group"]["unexpected"]
    return {
        "ready": ready,
        "writes": {k: v for k, v in written.items() if k not in ("positions", "timed")},
        **got,
        "settled": settled,
        "expected": len(expected),
        "group_whole": whole and settled["checkpoint"] >= expected[-1],
        "ws_whole": got["ws"]["exact"] == 1,
        **used,
    }


async def sleeps_per_second(seconds: float, count: int) -> float:
    """How many ``asyncio.sleep(seconds)`` one task gets through a second, one after another:
    the most a member that works ``seconds`` per event could handle."""
    began = time.monotonic()
    for _ in range(count):
        await asyncio.sleep(seconds)
    return count / (time.monotonic() - began)
