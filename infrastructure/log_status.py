"""How the log and its followers stand, for /metrics and /ready: read with a short bound, so a
check says whether the database answers rather than hanging with it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg

from infrastructure.database import UNAVAILABLE

BOUND = 1.0  # seconds a status read may take
READY_BOUND = 2.0  # seconds the database has to answer /ready
LAGS = """
SELECT h.position,
       p.position,
       (SELECT extract(epoch FROM clock_timestamp() - created_at)::float8 FROM events
        WHERE position > p.position ORDER BY position LIMIT 1),
       (SELECT extract(epoch FROM clock_timestamp() - created_at)::float8 FROM events
        WHERE position > $1 ORDER BY position LIMIT 1)
FROM log_head h, projection_positions p WHERE p.name = 'catalog'
"""


@dataclass(frozen=True)
class Standing:
    """The log's head, the catalog projection's position, and how old the oldest event not
    yet applied is (0 when none) for the projection and for a reader at a given position."""

    head: int
    projection: int
    projection_lag: float
    reader_lag: float


class LogStatus:
    """Reads of the log's standing, bounded in time."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def standing(self, reader: int) -> Standing | None:
        """The standing, with ``reader`` the position a reader has reached; None if the
        database does not answer within the bound."""
        try:
            async with asyncio.timeout(BOUND):
                row = await self._pool.fetchrow(LAGS, reader)
        except UNAVAILABLE:
            return None
        assert row is not None  # migrations insert the head and the projection's rows
        head, projection, projection_lag, reader_lag = row
        return Standing(head, projection, projection_lag or 0.0, reader_lag or 0.0)

    async def answers(self) -> bool:
        """Whether the database answers a query within READY_BOUND."""
        try:
            async with asyncio.timeout(READY_BOUND):
                await self._pool.fetchval("SELECT 1")
        except UNAVAILABLE:
            return False
        return True
