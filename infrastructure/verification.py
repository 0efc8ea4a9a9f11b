"""``run.py verify``: walk the hash chain, compare the read model with a fresh fold, and each
Funko snapshot with the state its event shows.

Both run in one REPEATABLE READ snapshot, so writers may go on meanwhile; given a second
connection, side by side, the snapshot exported to it (pg_export_snapshot). The fresh fold
goes into temporary tables named like the catalog's, which shadow them for that connection
only, through the projection's own code; then the two are compared row by row.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eventsourcing.persistence import StoredEvent

from infrastructure import hash_chain
from infrastructure.funko_repository import funko_mapper
from infrastructure.json_codec import dumps
from infrastructure.projection import NAME, CatalogProjection, Progress

if TYPE_CHECKING:
    from infrastructure.database import Connection

PAGE = 5000
SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+-[0-9]+")
CHAIN = f"""
SELECT position, hash, {hash_chain.BODY} FROM events WHERE position > $1 ORDER BY position
LIMIT $2
"""
SHADOWS = """
CREATE TEMP TABLE catalog_funkos (LIKE public.catalog_funkos INCLUDING ALL) ON COMMIT DROP;
CREATE TEMP TABLE catalog_categories (LIKE public.catalog_categories INCLUDING ALL)
    ON COMMIT DROP;
"""
ROW = (
    "id, name, price, stock, image, category, version, created_at, updated_at, doc::text, name_key"
)
FUNKOS_DIFFER = f"""
SELECT coalesce(max(e.position), $1) AS position, d.id FROM (
    (SELECT {ROW} FROM public.catalog_funkos EXCEPT SELECT {ROW} FROM pg_temp.catalog_funkos)
    UNION
    (SELECT {ROW} FROM pg_temp.catalog_funkos EXCEPT SELECT {ROW} FROM public.catalog_funkos)
) d LEFT JOIN events e ON e.funko_id = d.id
GROUP BY d.id ORDER BY 1, 2 LIMIT 1
"""
SNAPSHOTS = """
SELECT s.funko_id, s.version, s.topic, s.state::text, e.position, e.data::text
FROM snapshots s LEFT JOIN events e ON (e.funko_id, e.version) = (s.funko_id, s.version)
ORDER BY e.position NULLS FIRST
"""
CATEGORIES_DIFFER = """
SELECT name FROM (
    (TABLE public.catalog_categories EXCEPT TABLE pg_temp.catalog_categories)
    UNION
    (TABLE pg_temp.catalog_categories EXCEPT TABLE public.catalog_categories)
) d ORDER BY 1 LIMIT 1
"""


@dataclass(frozen=True)
class Finding:
    """The first position at which the log or the read model is not what it should be."""

    position: int
    problem: str


@dataclass(frozen=True)
class Verified:
    """What a clean check covered."""

    events: int
    head: int
    hash: bytes  # the head's: what a restored copy of the log must end on too


async def verify(
    conn: Connection,
    chain_progress: Progress,
    fold_progress: Progress,
    beside: Connection | None = None,
) -> Verified | Finding:
    """Check the chain up to the head, then the read model against a fresh fold; with a
    second connection ``beside``, the fold runs there at once, in the same snapshot."""
    async with conn.transaction(isolation="repeatable_read"):
        row = await conn.fetchrow("SELECT position, hash FROM log_head")  # no lock: a snapshot
        assert row is not None
        head, tip = row
        if beside is None:
            checked = await _walk_chain(conn, head, tip, chain_progress)
            if isinstance(checked, Finding):
                return checked
            found = await _derived(conn, head, fold_progress)
            return found or Verified(checked, head, tip)
        snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
        async with beside.transaction(isolation="repeatable_read"), asyncio.TaskGroup() as both:
            await beside.execute(f"SET TRANSACTION SNAPSHOT '{_quoted(snapshot)}'")
            chained = both.create_task(_walk_chain(conn, head, tip, chain_progress))
            compared = both.create_task(_derived(beside, head, fold_progress))
        checked, found = chained.result(), compared.result()
        if isinstance(checked, Finding):  # the log itself first: the fold comes from it
            return checked
        return found or Verified(checked, head, tip)


def _quoted(snapshot: str) -> str:
    if not SNAPSHOT_ID.fullmatch(snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    return snapshot


async def _walk_chain(conn: Connection, head: int, tip: bytes, progress: Progress) -> int | Finding:
    previous, last, count = hash_chain.GENESIS, 0, 0
    while rows := await conn.fetch(CHAIN, last, PAGE):
        for position, stored, body in rows:
            if stored != hash_chain.follow(previous, position, body):
                return Finding(
                    position,
                    "its hash does not follow from its content and the previous event's hash"
                    " (this event, or the one before it, was altered, removed or inserted)",
                )
            previous, last = stored, position
        count += len(rows)
        progress(last, head)
    if last != head:
        return Finding(
            min(last, head) + 1, f"the log's head is {head} but its last event is at {last}"
        )
    if previous != tip:
        return Finding(head, "the log head's hash is not its last event's")
    return count


async def _derived(conn: Connection, head: int, progress: Progress) -> Finding | None:
    """What is derived from the log: the read model, then the snapshots."""
    return await _compare_read_model(conn, head, progress) or await _check_snapshots(conn)


async def _check_snapshots(conn: Connection) -> Finding | None:
    """Each snapshot must be the Funko its event's data shows (data is under the chain): a
    command builds on a snapshot, so a planted one would change what later events say."""
    mapper = funko_mapper()
    async for funko_id, version, topic, state, position, data in conn.cursor(
        SNAPSHOTS, prefetch=1000
    ):
        where = f"the snapshot of Funko {funko_id} at version {version}"
        if position is None:
            return Finding(1, f"{where} has no event: nothing in the log made it")
        stored = StoredEvent(funko_id, version, topic, state.encode())
        funko = mapper.to_domain_event(stored).mutate(None)  # type: ignore[attr-defined]
        if dumps(funko.as_dict()) != data:
            return Finding(position, f"{where} is not the Funko its event shows")
    return None


async def _compare_read_model(conn: Connection, head: int, progress: Progress) -> Finding | None:
    tracked = await conn.fetchval("SELECT position FROM projection_positions WHERE name = $1", NAME)
    if tracked != head:
        return Finding(min(tracked, head) + 1, f"the read model is at position {tracked}")
    await conn.execute(SHADOWS)
    await CatalogProjection().fold_from_start(conn, head, progress)
    differs = await conn.fetchrow(FUNKOS_DIFFER, head)
    if differs is not None:
        return Finding(
            differs["position"],
            f"the read model's row for Funko {differs['id']} differs from a fresh fold of the log",
        )
    category = await conn.fetchval(CATEGORIES_DIFFER)
    if category is not None:
        return Finding(head, f"the read model's count of category {category!r} differs")
    return None
