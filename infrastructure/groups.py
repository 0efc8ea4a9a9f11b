"""Consumer groups' settings and standing (migration 0013), the first piece of issue 17.

A group is a name, which events it takes (after ``start_after``, of some types), how many
deliveries an event gets before it is parked, and its checkpoint. Creating one is idempotent:
the same settings again change nothing; other settings under the name are a conflict, never a
silent change of what the group's services receive. Deleting one deletes its leases and done
positions with it (ON DELETE CASCADE), in one statement.

Delivery (leases, acknowledgements, the checkpoint's moves) is in group_delivery.py; this module
holds what the admins' routes need. A retried parked event leaves the parked and waits in
``group_retries`` for the next claim; the checkpoint does not move back for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from infrastructure.database import Queries
from infrastructure.envelopes import AUDITED

TYPES = ("CREATE", "UPDATE", "DELETE")
MAX_ATTEMPTS = 5

CREATE = """
INSERT INTO consumer_groups (name, start_after, types, max_attempts, checkpoint)
VALUES ($1, coalesce($2, (SELECT position FROM log_head)), $3, $4,
        coalesce($2, (SELECT position FROM log_head)))
ON CONFLICT (name) DO NOTHING
RETURNING start_after
"""
SETTINGS = "SELECT name, start_after, types, max_attempts FROM consumer_groups"
STANDING = """
SELECT g.name, g.start_after, g.types, g.max_attempts, g.checkpoint,
       (SELECT position FROM log_head) AS head,
       (SELECT count(*) FROM events e
        WHERE e.position > g.checkpoint AND e.type = ANY(g.types)) AS lag,
       (SELECT count(*) FROM group_members m
        WHERE m.group_name = g.name AND m.member_until > now()) AS members,
       (SELECT count(*) FROM group_leases l
        WHERE l.group_name = g.name AND l.lease_until > now()) AS in_flight,
       (SELECT count(*) FROM group_done d WHERE d.group_name = g.name AND d.parked) AS parked
FROM consumer_groups g
"""


PARKED = f"""
SELECT left({AUDITED}, -1) || ',"attempts":' || d.attempts || ',"reason":'
       || coalesce(to_json(d.reason)::text, 'null') || '}}'
FROM group_done d JOIN events e USING (position)
WHERE d.group_name = $1 AND d.parked ORDER BY d.position
"""

# A parked event delivered again: out of the parked, into the retries (its attempts start over:
# parking dropped its lease). Nothing when the group has no such parked event.
RETRY = """
WITH unparked AS (
    DELETE FROM group_done WHERE group_name = $1 AND position = $2 AND parked RETURNING position
)
INSERT INTO group_retries (group_name, position) SELECT $1, position FROM unparked
ON CONFLICT DO NOTHING
RETURNING position
"""


class GroupNotFound(LookupError):
    """No group has this name."""


class NotParked(LookupError):
    """The group has no parked event at this position."""


class GroupConflict(ValueError):
    """A group of this name exists with other settings."""


@dataclass(frozen=True)
class GroupSettings:
    """What a group takes: events after ``start_after`` (None: the head when created) of
    ``types``, each delivered at most ``max_attempts`` times before it is parked."""

    name: str
    start_after: int | None = None
    types: tuple[str, ...] = TYPES
    max_attempts: int = MAX_ATTEMPTS

    def agrees_with(self, stored: GroupSettings) -> bool:
        """Whether asking for these settings again names the stored group (an omitted
        ``start_after`` agrees with any: it meant "the head", whenever that was)."""
        return (
            self.start_after in (None, stored.start_after)
            and set(self.types) == set(stored.types)
            and self.max_attempts == stored.max_attempts
        )


@dataclass(frozen=True)
class GroupStanding:
    """A group's settings and where it stands: checkpoint, the log's head, the matching
    events after the checkpoint, members connected (on any process), events in flight and
    parked."""

    settings: GroupSettings
    checkpoint: int
    head: int
    lag: int
    members: int
    in_flight: int
    parked: int


class Groups:
    """The consumer groups stored in the database."""

    def __init__(self, db: asyncpg.Pool) -> None:
        self._db = db

    async def put(self, wanted: GroupSettings) -> bool:
        """Create the group; True if created, False if it exists with agreeing settings
        (GroupConflict if with others)."""
        types = sorted(set(wanted.types), key=TYPES.index)
        async with self._db.acquire() as conn, conn.transaction():
            created = await conn.fetchval(
                CREATE, wanted.name, wanted.start_after, types, wanted.max_attempts
            )
            if created is not None:
                return True
            stored = _settings(await conn.fetchrow(f"{SETTINGS} WHERE name = $1", wanted.name))
        if not wanted.agrees_with(stored):
            raise GroupConflict(wanted.name)
        return False

    async def settings(self, name: str) -> GroupSettings:
        """The group's settings alone (GroupNotFound if there is none): cheaper than its
        standing, whose lag counts the events after its checkpoint."""
        row = await self._db.fetchrow(f"{SETTINGS} WHERE name = $1", name)
        if row is None:
            raise GroupNotFound(name)
        return _settings(row)

    async def standing(self, name: str) -> GroupStanding:
        rows = await _standings(self._db, " WHERE g.name = $1", name)
        if not rows:
            raise GroupNotFound(name)
        return rows[0]

    async def every(self) -> list[GroupStanding]:
        """Every group, by name."""
        return await _standings(self._db, " ORDER BY g.name")

    async def parked(self, name: str) -> list[str]:
        """The group's parked events, oldest first: each envelope (auditors' view) with its
        attempts and the last reason given, as JSON text."""
        async with self._db.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            rows = await conn.fetch(PARKED, name)
            if not rows and not await conn.fetchval(f"{SETTINGS} WHERE name = $1", name):
                raise GroupNotFound(name)
        return [row[0] for row in rows]

    async def retry(self, name: str, position: int) -> None:
        """Deliver the parked event at ``position`` again, its attempts starting over."""
        async with self._db.acquire() as conn, conn.transaction():
            if await conn.fetchval(RETRY, name, position) is None:
                if not await conn.fetchval(f"{SETTINGS} WHERE name = $1", name):
                    raise GroupNotFound(name)
                raise NotParked(position)

    async def delete(self, name: str) -> None:
        deleted = await self._db.fetchval(
            "DELETE FROM consumer_groups WHERE name = $1 RETURNING name", name
        )
        if deleted is None:
            raise GroupNotFound(name)


def _settings(row: asyncpg.Record | None) -> GroupSettings:
    assert row is not None  # the insert found the name taken, in the same transaction
    return GroupSettings(row["name"], row["start_after"], tuple(row["types"]), row["max_attempts"])


async def _standings(db: Queries, where: str, *args: object) -> list[GroupStanding]:
    rows = await db.fetch(STANDING + where, *args)
    counts = ("checkpoint", "head", "lag", "members", "in_flight", "parked")
    return [GroupStanding(_settings(row), *(row[c] for c in counts)) for row in rows]
