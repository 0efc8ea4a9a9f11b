"""One server's turn in the replica phase, and the steady writer that runs through them all.

A turn: a second with no client reads; catalog pages under wrk for the turn's seconds (PATHS:
four query shapes, nine pages each, 20 Funkos a page); REPLAYS WebSocket subscribers from
``after=0`` to CAUGHT_UP, one at a time (bench/wsclient.py); REPLAYS reads of the whole log as
NDJSON with an auditor's token (bench/ndjson_memory.py). Around each, the server's read counts
by database from its /metrics (they count its log reader's reads of each write too, which the
idle second shows alone), and around the catalog load the CPU time of the server and of both
PostgreSQL clusters.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.ndjson_memory import stream
from bench.procs import HOST, Server, Subscribers, cpu_seconds, python_module
from bench.replica_watch import Reads, scrape
from bench.wrk import Load, reads

SHAPES = ("", "category=ANIME&", "minPrice=100&maxPrice=199.99&sortBy=price&", "name=iron&")
PATHS = [
    f"/api/v1/funkos?{shape}page={page}&size=20" for page in range(0, 27, 3) for shape in SHAPES
]
REPLAYS = 2  # WebSocket replays, and NDJSON reads, in a turn
IDLE = 1.0  # seconds of no reads but the server's own in a turn (its log reader's, woken by
# the writes)
KINDS = ("idle", "catalog", "replay", "NDJSON")


@dataclass(frozen=True)
class Pass:
    """One replay of the log: how long it took, how many events, up to which position."""

    seconds: float
    events: int
    upto: int  # the CAUGHT_UP position, or the NDJSON read's X-Log-Head


@dataclass
class Side:
    """A server under test and what its turns measured."""

    name: str
    server: Server
    loads: list[Load] = field(default_factory=list)
    replays: list[Pass] = field(default_factory=list)
    ndjson: list[Pass] = field(default_factory=list)
    cpu_s: dict[str, float] = field(default_factory=dict)  # over its catalog loads, by process
    reads: dict[str, Reads] = field(default_factory=dict)  # by kind; none without a replica
    errors: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.server.port}"


class Turns:
    """Runs turns, reading /metrics with one session and CPU time of ``processes``."""

    def __init__(self, session: aiohttp.ClientSession, processes: dict[str, int], auditor: str):
        self.session, self.processes, self.auditor = session, processes, auditor

    async def _reads(self, side: Side) -> Reads | None:
        return Reads.of(await scrape(self.session, side.base))

    def _cpu(self, side: Side) -> dict[str, float]:
        pids = {"server": side.server.pid, **self.processes}
        return {name: cpu_seconds(pid) for name, pid in pids.items()}

    async def _counted(self, side: Side, kind: str, work: Any) -> None:
        """Await ``work``, adding the reads it made to the side's count of ``kind``."""
        before = await self._reads(side)
        await work
        after = await self._reads(side)
        if before is not None and after is not None:
            side.reads[kind] = side.reads.get(kind, Reads()) + (after - before)

    async def catalog(self, side: Side, seconds: float) -> None:
        cpu = self._cpu(side)
        await self._counted(side, "catalog", self._load(side, seconds))
        for name, spent in self._cpu(side).items():
            side.cpu_s[name] = side.cpu_s.get(name, 0.0) + spent - cpu[name]

    async def _load(self, side: Side, seconds: float) -> None:
        load = await reads(side.base, PATHS, seconds)
        side.loads.append(load)
        if load.not_2xx or load.socket_errors:
            side.errors.append(f"wrk: {load.not_2xx} non-2xx, {load.socket_errors} socket errors")

    async def replays(self, side: Side) -> None:
        for _ in range(REPLAYS):
            await self._counted(side, "replay", self._replay(side))

    async def _replay(self, side: Side) -> None:
        async with Subscribers.connect(side.server.port, 1, after=0, timing=False) as subs:
            ready = await subs.ready()
            await subs.finish([])
        if ready["connected"] != 1:
            side.errors.append(f"replay: {ready['error_samples']}")
            return
        upto = ready["caught_up"][0]
        side.replays.append(Pass(ready["catch_up_s"], ready["frames_before_caught_up"], upto))

    async def ndjson(self, side: Side) -> None:
        for _ in range(REPLAYS):
            await self._counted(side, "NDJSON", self._ndjson(side))

    async def _ndjson(self, side: Side) -> None:
        auditor = Server(side.server.port, side.server.pid, self.auditor)
        got = await stream(auditor, 0)
        if got["status"] != 200:
            side.errors.append(f"NDJSON: {got['status']}")
            return
        side.ndjson.append(Pass(got["seconds"], got["events"], got["head"]))

    async def turn(self, side: Side, seconds: float) -> None:
        await self._counted(side, "idle", asyncio.sleep(IDLE))
        await self.catalog(side, seconds)
        await self.replays(side)
        await self.ndjson(side)


@asynccontextmanager
async def churning(server: Server, rate: float) -> AsyncIterator[dict[str, Any]]:
    """bench.churn writing through ``server`` at ``rate`` per second through the block; its
    report (filled in on the way out)."""
    options = {"host": HOST, "port": server.port, "token": server.token, "rate": rate}
    pipe = asyncio.subprocess.PIPE
    proc = await python_module("bench.churn", options, stdin=pipe, stdout=pipe)
    assert proc.stdin is not None and proc.stdout is not None
    report: dict[str, Any] = {}
    try:
        if not await asyncio.wait_for(proc.stdout.readline(), 30):  # else: writing
            raise RuntimeError(f"bench.churn exited with {await proc.wait()}")
        yield report
        proc.stdin.write(b"stop\n")
        await proc.stdin.drain()
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not line:
            raise RuntimeError(f"bench.churn exited with {await proc.wait()}")
        report.update(json.loads(line))
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
