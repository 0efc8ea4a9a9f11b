"""The hash chain: each stored hash follows from the event's content and the previous hash."""

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest

from domain.funko import Funko
from domain.rules import trimmed
from domain.services import FunkoService
from infrastructure import bootstrap, hash_chain, verification
from infrastructure.database import migrate
from infrastructure.envelopes import head as log_head
from infrastructure.event_store import AppendRefused, EventStore
from infrastructure.events import NewEvent
from tests.integration.funko_events import (
    ACTORS,
    NAMES,
    append_beside,
    new_fields,
    pending_event,
)
from tests.support.cli import run_cli
from tests.support.databases import migrations_upto

# Written out here rather than taken from the product, so a column dropped there shows up.
CONTENT = (
    "position, funko_id, version, type, topic, state::text, data::text, changes::text,"
    " actor, created_at"
)
# Each event's stored hash against migration 0004's event_link over the stored previous hash.
RELINKED_IN_SQL = """
SELECT position, funko_id,
       hash = event_link(coalesce(lag(hash) OVER (ORDER BY position), $1), e) AS follows
FROM events e ORDER BY position
"""


@dataclass(frozen=True)
class Walk:
    """The log after some position, relinked in Python."""

    positions: list[int]
    unlinked: list[int]  # positions whose stored hash does not follow
    last: bytes  # the stored hash of the last event walked
    tip: bytes  # the hash log_head keeps


async def walk(db: asyncpg.Pool, after: int) -> Walk:
    """Recompute with hash_chain.link every event after ``after``, in one snapshot."""
    async with db.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        previous = await conn.fetchval(
            "SELECT hash FROM events WHERE position <= $1 ORDER BY position DESC LIMIT 1", after
        )
        rows = await conn.fetch(
            f"SELECT {CONTENT}, hash FROM events WHERE position > $1 ORDER BY position", after
        )
        tip = await conn.fetchval("SELECT hash FROM log_head")
    previous = previous or hash_chain.GENESIS
    unlinked = []
    for row in rows:
        if row["hash"] != hash_chain.link(previous, row[0], NewEvent(*row[1:-1])):
            unlinked.append(row["position"])
        previous = row["hash"]
    return Walk([r["position"] for r in rows], unlinked, previous, tip)


async def test_python_and_sql_hash_awkward_text_alike(
    service: FunkoService, pool: asyncpg.Pool
) -> None:
    ours: set[UUID] = set()
    for name, actor in zip(NAMES, ACTORS, strict=True):
        image = "https://example.com/%F0%9F%A6%96/%22it's%22%5Cpath.png?q=%C3%BC&a=(1)*2;b=$c"
        funko = await service.create(new_fields(name=name, category="straße", image=image), actor)
        quoted = {"name": f'{name[:90]}\\"', "price": Decimal("0.10")}
        await service.amend(funko.funko_id, quoted, actor)
        await service.delete(funko.funko_id, actor[::-1])
        ours.add(funko.funko_id)

    rows = await pool.fetch(RELINKED_IN_SQL, hash_chain.GENESIS)

    assert [r["position"] for r in rows if not r["follows"]] == []
    assert ours <= {r["funko_id"] for r in rows}
    stored = await pool.fetch(
        "SELECT actor, data->>'name' AS name FROM events WHERE funko_id = ANY($1::uuid[])"
        " AND type = 'CREATE'",
        list(ours),
    )
    assert sorted(r["actor"] for r in stored) == sorted(ACTORS)
    assert sorted(r["name"] for r in stored) == sorted(trimmed(name) for name in NAMES)


async def write_history(service: FunkoService, changes: int) -> UUID:
    funko = await service.create(new_fields(), "writer")
    for stock in range(changes):
        await service.amend(funko.funko_id, {"stock": stock}, "writer")
    return funko.funko_id


async def test_concurrent_appenders_leave_one_unbroken_chain(
    service: FunkoService, store: EventStore, pool: asyncpg.Pool
) -> None:
    head = await log_head(pool)

    funkos = await asyncio.gather(*(write_history(service, 24) for _ in range(8)))

    chain = await walk(pool, head)
    assert len(chain.positions) == 8 * 25
    assert chain.unlinked == []
    assert chain.tip == chain.last
    ids = await pool.fetch("SELECT DISTINCT funko_id FROM events WHERE position > $1", head)
    assert {r[0] for r in ids} == set(funkos)


async def test_a_refused_command_leaves_the_chain_of_its_batch_unbroken(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    head = await log_head(pool)
    good = [Funko.register(new_fields()) for _ in range(6)]
    refused = pending_event(Funko.register(new_fields()))._replace(type="BOGUS")

    outcomes = await append_beside(store, good, refused)

    assert isinstance(outcomes[3], AppendRefused)
    chain = await walk(pool, head)
    assert len(chain.positions) == 6
    assert chain.unlinked == []
    assert chain.tip == chain.last
    assert await store.load(refused.funko_id) == []


# Migration 0004 back-fills the events logged before the chain existed.

OLD_SHAPE_INSERT = """
INSERT INTO events (position, funko_id, version, type, topic, state, data, changes, actor,
                    created_at)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::json, $8::json, $9, $10)
"""


def old_events() -> list[NewEvent]:
    """A short history with awkward text, as the store took it before the chain."""
    kept = Funko.register(new_fields(name=NAMES[1], category="straße"))
    events = [pending_event(kept, ACTORS[0])]
    kept.amend({"name": NAMES[2], "price": Decimal("1.50")})
    events.append(pending_event(kept, ACTORS[1]))
    gone = Funko.register(new_fields(name=NAMES[0], image="https://x.io/%22a%22%5Cb.png"))
    events.append(pending_event(gone, ACTORS[2]))
    gone.delete()
    events.append(pending_event(gone, ACTORS[3]))
    return events


async def log_the_old_way(url: str, events: list[NewEvent]) -> None:
    """Insert ``events`` as the pre-chain store did (state jsonb). The read model is left to
    the projection's catch-up, once the schema is current."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            for position, e in enumerate(events, start=1):
                await conn.execute(
                    OLD_SHAPE_INSERT,
                    position,
                    e.funko_id,
                    e.version,
                    e.type,
                    e.topic,
                    e.state,
                    e.data,
                    e.changes,
                    e.actor,
                    e.created_at,
                )
            await conn.execute("UPDATE log_head SET position = $1", len(events))
    finally:
        await conn.close()


async def test_the_migration_chains_events_logged_before_the_chain(
    fresh_database: str, tmp_path: Path
) -> None:
    await migrate(fresh_database, migrations_upto(tmp_path / "before", "0003"))
    events = old_events()
    await log_the_old_way(fresh_database, events)

    chained = await migrate(fresh_database, migrations_upto(tmp_path / "chained", "0004"))
    assert chained == ["0004_hash_chain.sql"]
    await migrate(fresh_database)  # and whatever came after it

    async with bootstrap.running(fresh_database, min_size=1, max_size=4) as parts:
        pool = parts.pool
        chain = await walk(pool, 0)
        assert (chain.positions, chain.unlinked) == ([1, 2, 3, 4], [])
        assert chain.tip == chain.last
        async with pool.acquire() as conn:
            outcome = await verification.verify(conn, lambda *_: None, lambda *_: None)
        assert outcome == verification.Verified(events=4, head=4, hash=chain.tip)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await pool.execute("UPDATE events SET actor = 'mallory'")

        amended = await parts.service.amend(events[0].funko_id, {"stock": 9}, "after")
        assert amended.version == 3  # the back-filled history still loads
    verified = await run_cli(fresh_database, "verify")
    assert verified.code == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("verified 5 events up to position 5:")
