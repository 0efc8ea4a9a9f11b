"""The Idempotency-Keys recorded with their events, read back for retries and forgotten later.

The event store records a key in the transaction of the event its request appended (see
event_store.py); what the request was answered is rebuilt from that event. Keys are kept at
least ``KEPT``, then deleted a batch at a time by one process at a time: small deletes of old
rows that no writer touches, so writers are never held up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import asyncpg

from domain.funko import EventType
from infrastructure.database import UNAVAILABLE

KEPT = timedelta(hours=24)
FORGET_EVERY = 600.0  # seconds between looks for old keys
BATCH = 1000
log = logging.getLogger(__name__)
FORGETTING = 0x46554E4B49  # advisory lock: one process at a time forgets old keys
FIND = """
SELECT k.fingerprint, e.position, e.funko_id, e.version, e.type, e.data::text
FROM idempotency_keys k JOIN events e ON e.position = k.position
WHERE k.owner = $1 AND k.key = $2
"""
FORGET = """
DELETE FROM idempotency_keys WHERE (owner, key) IN (
    SELECT owner, key FROM idempotency_keys WHERE created_at < now() - $1::interval LIMIT $2
)
"""


@dataclass(frozen=True)
class KeptAnswer:
    """What a key's request appended: enough to answer its retry as it was answered."""

    fingerprint: bytes
    position: int
    funko_id: UUID
    version: int
    type: EventType
    json: str  # the Funko after the event


class IdempotencyKeys:
    """The recorded keys, over a pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def find(self, owner: str, key: str) -> KeptAnswer | None:
        """What the request that recorded ``owner``'s ``key`` appended, if one did."""
        row = await self._pool.fetchrow(FIND, owner, key)
        if row is None:
            return None
        fingerprint, position, funko_id, version, kind, json = row
        return KeptAnswer(bytes(fingerprint), position, funko_id, version, EventType(kind), json)

    async def forget_old(self, kept: timedelta = KEPT) -> int:
        """Delete keys older than ``kept``, a batch at a time; how many (0 if another process is
        at it already)."""
        async with self._pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", FORGETTING):
                return 0
            try:
                forgotten = 0
                while (deleted := await conn.execute(FORGET, kept, BATCH)) != "DELETE 0":
                    forgotten += int(deleted.split()[1])
                return forgotten
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", FORGETTING)


async def forget_old_keys(keys: IdempotencyKeys, every: float = FORGET_EVERY) -> None:
    """Forget old keys now and then, for ever; a database away meanwhile is tried again."""
    while True:
        with contextlib.suppress(*UNAVAILABLE):
            forgotten = await keys.forget_old()
            if forgotten:
                log.info("forgot %d Idempotency-Keys older than %s", forgotten, KEPT)
        await asyncio.sleep(every)
