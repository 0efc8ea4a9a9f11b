"""Handing a consumer group's events to its members, decided in PostgreSQL (issue 17).

Invariants, across every server process:
- **One Funko at a time.** An event is in flight while a row of ``group_leases`` holds it, and
  that table's key is (group, Funko): a second claim of a Funko in flight fails on the key, so
  two processes never hand out events of one Funko at once, and a Funko's next event is claimed
  only once the one before is acknowledged or parked (it is the Funko's first event after the
  checkpoint that is not done: in position order).
- **At least once.** An event leaves the to-do only when a member acknowledges it (a row in
  ``group_done``) or it is parked after ``max_attempts`` deliveries. A NACK, a member leaving
  with it, or a lease that runs out (its process killed or cut off: nobody renews it) ends a
  delivery; the next claim of the Funko takes the same event, one attempt more.
- **The checkpoint** is the highest position up to which every matching event is done; it only
  moves forward, past a run of done events, and the acknowledgements behind it are then
  forgotten (parked events are kept, for the admins). After a restart, claims start from it.

Claims of one group are serialised by a transaction-scoped advisory lock, so each claim reads
the acknowledgements committed before it (without it, a claim reading an older snapshot could
take an event acknowledged meanwhile and hand it out after its Funko's next one).

``holder`` names the member: "<process>/<member>". A process renews its members' leases and
memberships while it runs (``renew``); a lease it stops renewing (the process killed mid-delivery,
cut off from the database) runs out after ``lease`` seconds, and the next claim of any member on
any process takes that event again, one attempt more. Who moves the checkpoint: any process whose
members answered for the group (``advance``, from group_members.GroupMembers.keep); the moves are
serialised by the group's row lock and only go forward, so it does not matter which.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from infrastructure.envelopes import ENVELOPE
from infrastructure.groups import GroupNotFound

# Taken by every claim, with whether the group still exists (a member of a deleted one leaves).
LOCK = """
SELECT EXISTS (SELECT 1 FROM consumer_groups WHERE name = $1)
FROM (SELECT pg_advisory_xact_lock(hashtext('funko-group:' || $1))) locked
"""
# The group's checkpoint and types as scalar subqueries (run once, before the scan), so the
# scan walks the log's primary key from the checkpoint and stops once it has enough.
CHECKPOINT = "(SELECT checkpoint FROM consumer_groups WHERE name = $1)"
TYPES = "(SELECT types FROM consumer_groups WHERE name = $1)::text[]"
NOT_DONE = (
    "NOT EXISTS (SELECT 1 FROM group_done d WHERE d.group_name = $1 AND d.position = {}.position)"
)
NOT_HELD = """NOT EXISTS (
    SELECT 1 FROM group_leases l
    WHERE l.group_name = $1 AND l.funko_id = {}.funko_id AND l.lease_until > now())"""
# Each event a claim takes is its Funko's first not done after the checkpoint (no earlier one of
# the same Funko waits), of a Funko no live lease holds; retried parked events beside them.
CLAIM = f"""
WITH scan AS (
    SELECT e.position, e.funko_id FROM events e
    WHERE e.position > {CHECKPOINT} AND e.type = ANY({TYPES})
      AND {NOT_DONE.format("e")} AND {NOT_HELD.format("e")}
      AND NOT EXISTS (
          SELECT 1 FROM events b
          WHERE b.funko_id = e.funko_id AND b.version < e.version
            AND b.position > {CHECKPOINT} AND b.type = ANY({TYPES}) AND {NOT_DONE.format("b")})
    ORDER BY e.position LIMIT $3
),
retried AS (
    SELECT e.position, e.funko_id FROM group_retries r JOIN events e USING (position)
    WHERE r.group_name = $1 AND {NOT_HELD.format("e")}
),
free AS (
    SELECT position, funko_id FROM (
        SELECT DISTINCT ON (funko_id) position, funko_id
        FROM (SELECT * FROM scan UNION ALL SELECT * FROM retried) candidates
        ORDER BY funko_id, position
    ) firsts
    ORDER BY position LIMIT $3
),
claimed AS (
    INSERT INTO group_leases AS l (group_name, funko_id, position, attempts, holder, lease_until)
    SELECT $1, funko_id, position, 1, $2, now() + make_interval(secs => $4) FROM free
    ON CONFLICT (group_name, funko_id) DO UPDATE
        SET attempts = CASE WHEN l.position = excluded.position THEN l.attempts + 1 ELSE 1 END,
            position = excluded.position, holder = excluded.holder,
            lease_until = excluded.lease_until
        WHERE l.lease_until <= now()
    RETURNING l.position, l.attempts
)
SELECT c.position, c.attempts,
       left({ENVELOPE}, -1) || ',"attempt":' || c.attempts || '}}' AS envelope
FROM claimed c JOIN events USING (position) ORDER BY c.position
"""
ACK = """
WITH acked AS (
    DELETE FROM group_leases WHERE group_name = $1 AND holder = $2 AND position = ANY($3)
    RETURNING position
),
retried AS (
    DELETE FROM group_retries r USING acked a WHERE r.group_name = $1 AND r.position = a.position
)
INSERT INTO group_done (group_name, position, attempts)
SELECT $1, position, 0 FROM acked ON CONFLICT DO NOTHING
RETURNING position
"""
# A delivery ends unacknowledged: the event waits for its next attempt, or is parked if it has
# had max_attempts.
END = """
WITH g AS (SELECT max_attempts FROM consumer_groups WHERE name = $1),
ended AS (
    SELECT l.funko_id, l.position, l.attempts >= g.max_attempts AS park
    FROM group_leases l, g
    WHERE l.group_name = $1 AND l.holder = $2 AND (l.position = ANY($3) OR $3 IS NULL)
),
dropped AS (
    DELETE FROM group_leases l USING ended e
    WHERE e.park AND l.group_name = $1 AND l.funko_id = e.funko_id
    RETURNING l.position, l.attempts
),
parked AS (
    INSERT INTO group_done (group_name, position, parked, attempts, reason)
    SELECT $1, position, true, attempts, $4 FROM dropped
    ON CONFLICT (group_name, position) DO NOTHING
),
retried AS (
    DELETE FROM group_retries r USING dropped d WHERE r.group_name = $1 AND r.position = d.position
),
released AS (
    UPDATE group_leases l SET holder = '', lease_until = '-infinity'
    FROM ended e WHERE NOT e.park AND l.group_name = $1 AND l.funko_id = e.funko_id
)
SELECT position, park FROM ended ORDER BY position
"""
RENEW = """
WITH members AS (
    UPDATE group_members SET member_until = now() + make_interval(secs => $2)
    WHERE split_part(holder, '/', 1) = $1
)
UPDATE group_leases SET lease_until = now() + make_interval(secs => $2)
WHERE split_part(holder, '/', 1) = $1 AND lease_until > now()
"""
JOIN = """
WITH stale AS (DELETE FROM group_members WHERE group_name = $1 AND member_until <= now())
INSERT INTO group_members (group_name, holder, member_until)
VALUES ($1, $2, now() + make_interval(secs => $3))
ON CONFLICT (group_name, holder) DO UPDATE SET member_until = excluded.member_until
"""
LEAVE = "DELETE FROM group_members WHERE group_name = $1 AND holder = $2"
# Forward only (greatest): two processes moving one group's checkpoint at once cannot move it
# back, and either one's reach is a position up to which everything is done.
ADVANCE = f"""
WITH undone AS (
    SELECT e.position FROM events e
    WHERE e.position > {CHECKPOINT} AND e.type = ANY({TYPES}) AND {NOT_DONE.format("e")}
    ORDER BY e.position LIMIT 1
),
reach AS (
    SELECT coalesce((SELECT position - 1 FROM undone), (SELECT position FROM log_head)) AS p
)
UPDATE consumer_groups SET checkpoint = greatest(checkpoint, reach.p)
FROM reach WHERE name = $1
RETURNING checkpoint
"""
FORGET = "DELETE FROM group_done WHERE group_name = $1 AND position <= $2 AND NOT parked"


@dataclass(frozen=True)
class Delivery:
    """An event handed to a member: its position, which attempt this is, its envelope."""

    position: int
    attempt: int
    envelope: str


@dataclass(frozen=True)
class Ended:
    """A delivery that ended unacknowledged: parked, or waiting for its next attempt."""

    position: int
    parked: bool


class GroupDelivery:
    """Claims, acknowledgements and the checkpoint of consumer groups, for one process."""

    def __init__(self, pool: asyncpg.Pool, process: UUID, lease: float = 10.0) -> None:
        self._pool, self.process, self.lease = pool, process, lease

    def holder(self, member: str) -> str:
        return f"{self.process}/{member}"

    async def claim(self, group: str, member: str, limit: int) -> list[Delivery]:
        """Up to ``limit`` events for ``member``: each its Funko's next, none of a Funko in
        flight; the oldest first."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(LOCK, group):
                raise GroupNotFound(group)
            rows = await conn.fetch(CLAIM, group, self.holder(member), limit, self.lease)
        return [Delivery(*row) for row in rows]

    async def join(self, group: str, member: str) -> None:
        """Count ``member`` among the group's members while this process renews it."""
        try:
            await self._pool.execute(JOIN, group, self.holder(member), self.lease)
        except asyncpg.ForeignKeyViolationError:
            raise GroupNotFound(group) from None

    async def leave(self, group: str, member: str) -> None:
        """``member`` has gone: whatever it held goes back to the group, it no longer counts."""
        await self.end(group, member, None, "member left")
        await self._pool.execute(LEAVE, group, self.holder(member))

    async def ack(self, group: str, member: str, positions: list[int]) -> list[int]:
        """Acknowledge what ``member`` holds of ``positions`` (the rest is ignored); the
        positions acknowledged."""
        rows = await self._pool.fetch(ACK, group, self.holder(member), positions)
        return sorted(row[0] for row in rows)

    async def end(
        self, group: str, member: str, positions: list[int] | None, reason: str | None
    ) -> list[Ended]:
        """End ``member``'s deliveries of ``positions`` (all of them: None) unacknowledged."""
        rows = await self._pool.fetch(END, group, self.holder(member), positions, reason)
        return [Ended(*row) for row in rows]

    async def renew(self) -> None:
        """Extend every lease and membership of this process (while it runs, its members keep
        theirs)."""
        await self._pool.execute(RENEW, str(self.process), self.lease)

    async def advance(self, group: str) -> int:
        """Move the checkpoint past the done events after it; the checkpoint."""
        async with self._pool.acquire() as conn, conn.transaction():
            checkpoint: int = await conn.fetchval(ADVANCE, group)
            await conn.execute(FORGET, group, checkpoint)
        return checkpoint
