"""The replica phase's stage: a private primary and a hot-standby streaming replica of it
(tests/support/replication.py: Debian's initdb, pg_basebackup and pg_ctl on loopback ports),
the primary restored from a made-up log (bench/replay_files.py) and the replica caught up with
it; then three ``run.py serve`` with one worker each, on free ports, sharing one JWT secret:
one for the writes, one on the primary alone, one on the primary and its replica.
"""

import asyncio
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.growth_logs import cli, generate
from bench.procs import Server, free_port, logged_to, server
from bench.replay_files import Written
from tests.support.clusters import Cluster
from tests.support.replication import Replication, replication
from web.auth import issue_token

CATCH_UP = 120.0  # seconds the replica may take to replay the restore


@dataclass(frozen=True)
class Seeded:
    """The pair, holding the restored log on both sides, and what the restore took."""

    pair: Replication
    written: Written
    build_s: float  # the two clusters made, started and migrated
    restore_s: float  # run.py restore on the primary, from spawn to exit
    catch_up_s: float  # then until the replica had replayed it all


@asynccontextmanager
async def seeded_pair(events: int) -> AsyncIterator[Seeded]:
    """A primary restored from a made-up log of ``events`` events and its replica, caught up;
    both removed at the end."""
    started = time.perf_counter()
    async with replication() as pair:
        built = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="funko_replica_") as directory:
            path = Path(directory) / "log.ndjson"
            written = await asyncio.to_thread(generate, path, events)
            restore_s, _ = await cli(pair.primary_url, "restore", str(path))
        restored = time.perf_counter()
        await pair.caught_up(within=CATCH_UP)
        caught_up = time.perf_counter() - restored
        yield Seeded(pair, written, built - started, restore_s, caught_up)


def postmaster(cluster: Cluster) -> int:
    """The pid of ``cluster``'s postmaster (every backend of it is its child)."""
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


@dataclass(frozen=True)
class Servers:
    """The three servers (each holds an admin token) and an auditor's token for them all."""

    writes: Server  # takes the steady writer's writes: on the primary
    primary: Server  # DATABASE_URL only
    replica: Server  # DATABASE_URL and DATABASE_REPLICA_URL
    auditor: str


@asynccontextmanager
async def _serving(
    what: str, url: str, secret: str, replica_url: str | None = None
) -> AsyncIterator[Server]:
    port = free_port()
    async with logged_to(what) as log, server(url, port, secret, log, 1, replica_url) as pid:
        yield Server(port, pid, issue_token(secret, "admin", "bench", 3600))


@asynccontextmanager
async def serving(pair: Replication) -> AsyncIterator[Servers]:
    """The three servers on ``pair``, one worker each, started one after the other."""
    secret = secrets.token_urlsafe(32)
    async with (
        _serving("writes server", pair.primary_url, secret) as writes,
        _serving("primary server", pair.primary_url, secret) as primary,
        _serving("replica server", pair.primary_url, secret, pair.replica_url) as replica,
    ):
        yield Servers(writes, primary, replica, issue_token(secret, "auditor", "bench", 3600))
