"""The log as auditors read it: envelopes naming their actor, by Funko or by position.

Envelopes are assembled by PostgreSQL (envelopes.AUDITED) and handed on as text. Long reads
go page by page, the next page fetched while the caller handles the current one, so a log of
any length streams in constant memory. Over ``ReplicaReads``, a long read's pages all come
from a database holding every event up to the head the read began at.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from infrastructure.envelopes import AUDITED, head, start_at
from infrastructure.replica_reads import MIN_POSITION, ReplicaReads

if TYPE_CHECKING:
    import asyncpg

    from infrastructure.database import Connection

PAGE = 1000
HISTORY = f"SELECT {AUDITED} FROM events WHERE funko_id = $1 ORDER BY version"
# The head comes from the page's own snapshot, so `next` never passes it.
PAGE_AFTER = f"""
SELECT position, {AUDITED} AS envelope, (SELECT position FROM log_head) AS head
FROM events WHERE position > $1 ORDER BY events.position LIMIT $2
"""
SPAN = f"""
SELECT position, {AUDITED} FROM events
WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3
"""
SPAN_OF_FUNKO = f"""
SELECT position, {AUDITED} FROM events
WHERE position > $1 AND position <= $2 AND funko_id = $4 ORDER BY position LIMIT $3
"""


@dataclass(frozen=True)
class LogPage:
    """Envelopes after a position; ``next`` is where the following page starts."""

    envelopes: list[str]
    next: int
    head: int


class AuditLog:
    """Auditor reads of the event log, over a pool, one connection, or the replica's reads."""

    def __init__(self, db: asyncpg.Pool | Connection | ReplicaReads) -> None:
        self._db = db

    async def history(self, funko_id: UUID) -> list[str]:
        """Every envelope of one Funko, in version order (empty if it never existed)."""
        return [row[0] for row in await self._db.fetch(HISTORY, funko_id)]

    async def head(self) -> int:
        """The newest committed position (0 for an empty log)."""
        return await head(self._db)

    async def start_at(self, since: datetime) -> int:
        """The position after which the first event created at or after ``since`` comes."""
        return await start_at(self._db, since)

    async def page(self, after: int, limit: int) -> LogPage:
        """Up to ``limit`` envelopes with position > ``after``, and the head they were read at."""
        rows = await self._db.fetch(PAGE_AFTER, after, limit)
        if not rows:
            return LogPage([], after, await self.head())
        return LogPage([row[1] for row in rows], rows[-1][0], rows[0][2])

    async def pages(
        self, after: int, upto: int, funko_id: UUID | None = None, size: int = PAGE
    ) -> AsyncGenerator[tuple[int, list[str]]]:
        """(last position, envelopes) for every event in (after, upto], a page at a time."""
        fetch = asyncio.ensure_future(self._span(after, upto, funko_id, size))
        try:
            while True:
                rows = await fetch
                if not rows:
                    return
                last = rows[-1][0]
                if len(rows) == size and last < upto:
                    fetch = asyncio.ensure_future(self._span(last, upto, funko_id, size))
                    await asyncio.sleep(0)  # let it reach the database before we yield
                else:
                    fetch = asyncio.ensure_future(_nothing())
                yield last, [row[1] for row in rows]
        finally:
            fetch.cancel()
            with suppress(asyncio.CancelledError):
                await fetch

    async def _span(
        self, after: int, upto: int, funko_id: UUID | None, size: int
    ) -> list[asyncpg.Record]:
        args = (
            (SPAN, after, upto, size)
            if funko_id is None
            else (SPAN_OF_FUNKO, after, upto, size, funko_id)
        )
        if isinstance(self._db, ReplicaReads):  # a page short of ``upto`` would end the read
            reach = max(upto, MIN_POSITION.get())
            return await self._db.using(lambda pool: pool.fetch(*args), reach)
        return await self._db.fetch(*args)


async def _nothing() -> list[asyncpg.Record]:
    return []
