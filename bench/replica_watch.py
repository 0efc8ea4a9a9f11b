"""What the replica phase watches while it measures: the server that reads the replica, by its
/metrics (the replica's lag in seconds and positions as the server's own checks see it, and
its reads by the database that answered), and PostgreSQL, by the primary's
``pg_stat_replication.replay_lag`` and the two log heads' gap. Sampled every INTERVAL.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from bench.stats import percentile

INTERVAL = 0.25  # seconds between samples (the server checks its replica every 0.5 s)
REPLAY_LAG = "SELECT coalesce(extract(epoch FROM replay_lag), 0)::float8 FROM pg_stat_replication"
HEAD = "SELECT position FROM log_head"
READS = 'funko_reads_total{database="%s"}'
FALLBACKS = "funko_replica_fallbacks_total"


def metric_values(text: str) -> dict[str, float]:
    """Every sample of a Prometheus text page, keyed as written: ``name{label="value"}``."""
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values


async def scrape(session: aiohttp.ClientSession, base: str) -> dict[str, float]:
    async with session.get(f"{base}/metrics") as response:
        return metric_values(await response.text())


@dataclass(frozen=True)
class Reads:
    """A server's reads so far (funko_reads by database, and the replica's fallbacks)."""

    replica: float = 0.0
    primary: float = 0.0
    fallbacks: float = 0.0

    @classmethod
    def of(cls, values: dict[str, float]) -> "Reads | None":
        """From /metrics; None if it has none (a server with no replica configured)."""
        if READS % "replica" not in values:
            return None
        return cls(values[READS % "replica"], values[READS % "primary"], values[FALLBACKS])

    def __sub__(self, other: "Reads") -> "Reads":
        return Reads(
            self.replica - other.replica,
            self.primary - other.primary,
            self.fallbacks - other.fallbacks,
        )

    def __add__(self, other: "Reads") -> "Reads":
        return Reads(
            self.replica + other.replica,
            self.primary + other.primary,
            self.fallbacks + other.fallbacks,
        )

    @property
    def replica_share(self) -> float:
        total = self.replica + self.primary
        return self.replica / total if total else 0.0


def spread(values: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max of ``values``."""
    ordered = sorted(values)
    return percentile(ordered, 0.5), percentile(ordered, 0.99), ordered[-1] if ordered else 0.0


@dataclass
class Samples:
    """What each sample saw, one list per quantity."""

    lag_s: list[float] = field(default_factory=list)  # funko_replica_lag_seconds
    lag_positions: list[float] = field(default_factory=list)  # funko_replica_lag_positions
    on_replica: list[float] = field(default_factory=list)  # funko_reads_target{replica}
    replay_lag_s: list[float] = field(default_factory=list)  # pg_stat_replication.replay_lag
    head_gap: list[float] = field(default_factory=list)  # primary's log_head - replica's
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


async def _sample(
    session: aiohttp.ClientSession,
    base: str,
    primary: asyncpg.Connection,
    replica: asyncpg.Connection,
    into: Samples,
) -> None:
    values = await scrape(session, base)
    replay_lag = await primary.fetchval(REPLAY_LAG)
    heads = await asyncio.gather(primary.fetchval(HEAD), replica.fetchval(HEAD))
    into.lag_s.append(values["funko_replica_lag_seconds"])
    into.lag_positions.append(values["funko_replica_lag_positions"])
    into.on_replica.append(values['funko_reads_target{database="replica"}'])
    if replay_lag is not None:  # None: the replica is not connected
        into.replay_lag_s.append(replay_lag)
    into.head_gap.append(max(0, heads[0] - heads[1]))


async def _sampling(
    session: aiohttp.ClientSession,
    base: str,
    primary: asyncpg.Connection,
    replica: asyncpg.Connection,
    into: Samples,
) -> None:
    while True:
        try:
            await _sample(session, base, primary, replica, into)
        except (aiohttp.ClientError, asyncpg.PostgresError, KeyError, OSError) as error:
            into.failed.append(repr(error))
        await asyncio.sleep(INTERVAL)


@asynccontextmanager
async def watching(base: str, primary_url: str, replica_url: str) -> AsyncIterator[Samples]:
    """Samples of the server at ``base`` (which reads a replica) and of both databases, taken
    every INTERVAL through the block."""
    samples = Samples()
    primary = await asyncpg.connect(primary_url)
    replica = await asyncpg.connect(replica_url)
    try:
        async with aiohttp.ClientSession() as session:
            started = time.monotonic()
            task = asyncio.create_task(_sampling(session, base, primary, replica, samples))
            try:
                yield samples
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                samples.seconds = time.monotonic() - started
            if not task.cancelled() and task.exception() is not None:
                raise RuntimeError("sampling failed") from task.exception()
    finally:
        await primary.close()
        await replica.close()
