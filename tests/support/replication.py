"""A private primary and a hot-standby streaming replica of it, for the tests of issue 16.

Invariant: the replica starts as a byte copy of the primary (``pg_basebackup``) and then
replays the primary's WAL in order, through a replication slot that keeps the WAL until the
replica has it: whatever the replica shows is a prefix of the primary's history, and stopping
it for a while loses nothing. ``caught_up`` waits until that prefix is the whole of it.

    async with replication() as pair:  # migrated; the replica has the schema
        ...  # write through pair.primary_url, read through pair.replica_url
        await pair.caught_up()
"""

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from asyncpg import Connection

from infrastructure.database import migrate
from tests.support.clusters import SUPERUSER, Cluster, run, workspace
from tests.support.ports import steady_port

DATABASE = "funko"  # the clusters are private: one fixed name, the same on both
SLOT = "funko_replica"
WITHIN = 10.0  # seconds for the replica to catch up or pause


@dataclass(frozen=True)
class Lag:
    """How far the replica's replay is behind the primary's WAL: in bytes, and in seconds
    since the last transaction it replayed committed (0 when caught up; None before any)."""

    bytes: int
    seconds: float | None


class Replication:
    """The two clusters, in ``directory``, and what a test does to the replica."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # Steady ports: still free for the replica's restart while it is stopped.
        self.primary = Cluster(directory / "primary", steady_port())
        self.replica = Cluster(directory / "replica", steady_port())
        while self.replica.port == self.primary.port:
            self.replica = Cluster(self.replica.data, steady_port())

    @property
    def primary_url(self) -> str:
        return self.primary.url(DATABASE)

    @property
    def replica_url(self) -> str:
        return self.replica.url(DATABASE)

    async def build(self) -> None:
        """initdb the primary and start it; copy it to the replica (its slot made, its
        standby.signal and primary_conninfo written by -R) and start that."""
        await self.primary.init()
        await self.primary.start()
        source = ["-h", "127.0.0.1", "-p", str(self.primary.port), "-U", SUPERUSER]
        copy = ["-D", str(self.replica.data), "-R", "-X", "stream", "-C", "-S", SLOT]
        await run("pg_basebackup", *source, *copy, "-c", "fast", "--no-sync", cwd=self.directory)
        await self.replica.start()

    async def remove(self) -> None:
        """Stop both, running or not, paused or not (``immediate``: nothing to keep), and delete
        their directory."""
        for cluster in (self.replica, self.primary):
            if await cluster.running():
                await cluster.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    async def stop_replica(self) -> None:
        """Stop the replica as an operator does (fast): its port closes, its URL stays."""
        await self.replica.stop()

    async def start_replica(self) -> None:
        """Start it again: it streams from where it stopped, the slot kept the WAL since."""
        await self.replica.start()

    async def ensure_streaming(self) -> None:
        """The replica running, replaying and caught up, whatever a test left it in."""
        if not await self.replica.running():
            await self.start_replica()
        await self.resume()
        await self.caught_up()

    async def pause(self) -> None:
        """Pause the replica's replay, and wait until it has paused: nothing more shows there."""
        async with _connected(self.replica) as replica:
            await replica.execute("SELECT pg_wal_replay_pause()")
            paused = "SELECT pg_get_wal_replay_pause_state() = 'paused'"
            await _until(replica, paused, what="paused")

    async def resume(self) -> None:
        """Resume replay (returns at once: ``caught_up`` waits for the replica to be there)."""
        async with _connected(self.replica) as replica:
            await replica.execute("SELECT pg_wal_replay_resume()")

    async def caught_up(self, within: float = WITHIN) -> None:
        """Wait until the replica has replayed all the WAL the primary has written now."""
        async with _connected(self.primary) as primary, _connected(self.replica) as replica:
            written = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
            replayed = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"
            await _until(replica, replayed, written, what=f"replayed to {written}", within=within)

    async def lag(self) -> Lag:
        """How far behind the replica is now (it must be running)."""
        async with _connected(self.primary) as primary, _connected(self.replica) as replica:
            written = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
            behind = await replica.fetchrow(
                "SELECT pg_wal_lsn_diff($1::text::pg_lsn, pg_last_wal_replay_lsn())::bigint,"
                " extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8",
                written,
            )
        assert behind is not None
        caught_up = behind[0] <= 0
        return Lag(max(behind[0], 0), 0.0 if caught_up else behind[1])


@asynccontextmanager
async def replication() -> AsyncIterator[Replication]:
    """A primary and its replica, both holding ``DATABASE`` migrated; removed at the end,
    however the block ends (or the build fails)."""
    pair = Replication(workspace("funko-replication-"))
    try:
        await pair.build()
        async with _connected(pair.primary) as primary:
            await primary.execute(f'CREATE DATABASE "{DATABASE}"')
        await migrate(pair.primary_url)
        await pair.caught_up()
        yield pair
    finally:
        await pair.remove()


@asynccontextmanager
async def _connected(cluster: Cluster, database: str = "postgres") -> AsyncIterator[Connection]:
    """A connection to ``cluster``, by default to its ``postgres`` database: the controls act
    on the server, and the pair's ``DATABASE`` does not exist until it is made."""
    conn = await asyncpg.connect(cluster.url(database))
    try:
        yield conn
    finally:
        await conn.close()


async def _until(
    conn: Connection, condition: str, *args: object, what: str, within: float = WITHIN
) -> None:
    """Poll ``condition`` (a boolean query) on ``conn`` until it holds; TimeoutError naming
    ``what`` after ``within`` seconds."""
    try:
        async with asyncio.timeout(within):
            while True:
                if await conn.fetchval(condition, *args):
                    return
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise TimeoutError(f"the replica has not {what} within {within} s") from None
