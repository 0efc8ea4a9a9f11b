"""Seeding the audit phase: a long event log written in SQL, fast, on its own database.

The rows are Funko creations shaped like the service's (state, data and changes together
~690 bytes, as a real create stores them). Their hashes are a stand-in (sha256 of the
position): replay and GET /events read the chain's columns but never check them. The head
and the catalog's tracked position are moved to the last row, so a server starting on the
database has nothing to fold (the catalog tables stay empty).
"""

import asyncio
import time
from datetime import datetime
from typing import Any

import asyncpg

CHUNK = 50_000  # rows per INSERT statement (one transaction each)
WRITERS = 2  # connections inserting chunks side by side
INSERT = """
WITH funko AS (
    SELECT n, gen_random_uuid() AS id,
           to_json((ARRAY['Iron','Spider','Captain','Dark','Golden','Space','Ninja','Robo'])
                   [1 + n % 8] || ' ' || (ARRAY['Mighty','Tiny','Cosmic','Shadow','Pixel',
                   'Thunder','Frost','Neon'])[1 + n / 8 % 8] || ' #' || n * 7919 % 1000000)::text
               AS name,
           to_char(100 + n * 37 % 99900, 'FM99990') AS cents,
           n * 13 % 1000 AS stock,
           to_json('https://images.example.com/funko/' || n % 100000 || '.png')::text AS image,
           to_json((ARRAY['MARVEL','DISNEY','ANIME','DC','STAR WARS','GAMES','MOVIES','MUSIC'])
                   [1 + n % 8])::text AS category,
           $3::timestamptz + n * interval '1 millisecond' AS at
    FROM generate_series($1::bigint, $2::bigint) AS n
), shaped AS (
    SELECT *, left(cents, -2) || '.' || right(cents, 2) AS price,
           to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS stamp,
           '"name":' || name || ',"price":%s,"stock":' || stock || ',"image":' || image
               || ',"category":' || category AS fields
    FROM funko
)
INSERT INTO events
    (position, funko_id, version, type, topic, state, data, changes, actor, created_at, hash)
SELECT n, id, 1, 'CREATE', 'domain.funko:Funko.Created',
       ('{"timestamp":{"_type_":"datetime_iso","_data_":"' || stamp
        || '+00:00"},"originator_topic":"domain.funko:Funko",'
        || format(fields, '{"_type_":"decimal_str","_data_":"' || price || '"}') || '}')::json,
       ('{"id":"' || id || '",' || format(fields, price) || ',"version":1,"createdAt":"'
        || stamp || 'Z","updatedAt":"' || stamp || 'Z"}')::json,
       ('{' || format(fields, price) || '}')::json,
       'bench', at, sha256(int8send(n))
FROM shaped
"""
HEAD = "UPDATE log_head SET position = $1, hash = sha256(int8send($1))"
CAUGHT_UP = "UPDATE projection_positions SET position = $1 WHERE name = 'catalog'"


async def _insert(url: str, chunks: list[tuple[int, int]], at: datetime) -> None:
    conn = await asyncpg.connect(url)
    try:
        while chunks:
            await conn.execute(INSERT, *chunks.pop(0), at)
    finally:
        await conn.close()


async def seed(url: str, events: int) -> dict[str, Any]:
    """Fill the empty log of ``url`` with ``events`` creations; move the head to the last."""
    started = time.perf_counter()
    chunks = [(n, min(events, n + CHUNK - 1)) for n in range(1, events + 1, CHUNK)]
    conn = await asyncpg.connect(url)
    try:
        at = await conn.fetchval("SELECT now() - interval '30 days'")
        await asyncio.gather(*(_insert(url, chunks, at) for _ in range(WRITERS)))
        await conn.execute(HEAD, events)
        await conn.execute(CAUGHT_UP, events)
        inserted = time.perf_counter() - started
        # Hint bits and the visibility map set now, not by the first timed read.
        await conn.execute("VACUUM (ANALYZE) events")
        size = await conn.fetchval("SELECT pg_total_relation_size('events')")
    finally:
        await conn.close()
    return {
        "events": events,
        "insert_seconds": inserted,
        "seconds": time.perf_counter() - started,
        "table_mib": size / 2**20,
    }
