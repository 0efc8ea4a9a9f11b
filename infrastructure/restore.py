"""``run.py restore``: a ``replay`` file loaded back into an empty log, all or nothing.

Each line is an auditor's envelope as ``replay`` writes it (envelopes.AUDITED). The envelope
holds every stored column but the eventsourcing record (topic, state) and the hash: worker
The record is made again from each line (restore_lines.py); here the log's order and each
Funko's versions are checked and the hash chain linked again, so the restored log ends on the
source's head hash. ``data`` and ``changes`` are kept as the
very text of the line, and each line must be exactly what ``replay`` writes for the event it
describes, so a ``replay`` of the result equals the input byte for byte. Rows go in with COPY,
a chunk at a time while a thread parses the next, in one transaction with the head and the
read model's fold: a bad line leaves the log empty and is named.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass
from itertools import count, islice
from typing import TYPE_CHECKING, Any
from uuid import UUID

from infrastructure import hash_chain
from infrastructure.envelopes import AUDITED
from infrastructure.events import NewEvent
from infrastructure.projection import NAME, CatalogProjection
from infrastructure.restore_lines import NotRestorable, Parsed, parse

if TYPE_CHECKING:
    from infrastructure.database import Connection

__all__ = ["LogNotEmpty", "NotRestorable", "Restored", "restore"]

CHUNK = 10_000  # lines a worker parses at a time, and rows a COPY takes
REPLAYED = f"SELECT {AUDITED} FROM events WHERE position BETWEEN $1 AND $2 ORDER BY position"
COLUMNS = ["position", *NewEvent._fields, "hash"]
Linked = tuple[list[bytes], list[Parsed], list[tuple[Any, ...]]]  # lines, parses, their rows


class LogNotEmpty(RuntimeError):
    """Restore loads only into an empty log."""


@dataclass(frozen=True)
class Restored:
    events: int
    head: int
    hash: bytes


class Chain:
    """The log's order checked and the hash chain linked, a chunk after the other."""

    def __init__(self) -> None:
        self._versions: dict[UUID, int] = {}  # each Funko's last version; -1 once deleted
        self.position, self.hash, self.count = 0, hash_chain.GENESIS, 0

    def link(self, parsed: list[Parsed]) -> list[tuple[Any, ...]]:
        """The rows of ``parsed``, hashes and all, if they follow the log so far."""
        rows = []
        for number, position, event, body in parsed:
            self._follows(number, position, event)
            self.hash = hash_chain.follow(self.hash, position, body)
            self.position = position
            rows.append((position, *event, self.hash))
        self.count += len(rows)
        return rows

    def _follows(self, number: int, position: int, event: NewEvent) -> None:
        if position <= self.position:
            raise NotRestorable(number, f"position {position} does not follow {self.position}")
        funko_id, version = event.funko_id, event.version
        expected = self._versions.get(funko_id, 0) + 1
        if expected == 0:
            raise NotRestorable(number, f"Funko {funko_id} has an event after its DELETE")
        if version != expected or (event.type == "CREATE") != (version == 1):
            why = f"version {version} of Funko {funko_id} does not follow its history"
            raise NotRestorable(number, why)
        self._versions[funko_id] = -1 if event.type == "DELETE" else version


async def restore(conn: Connection, lines: Iterable[bytes], progress: Any = None) -> Restored:
    """Load ``lines`` into the empty log on ``conn`` and fold the read model, in one
    transaction; LogNotEmpty or NotRestorable (nothing written) if it cannot."""
    chain = Chain()
    async with conn.transaction():
        head = await conn.fetchval("SELECT position FROM log_head FOR UPDATE")
        if head != 0 or await conn.fetchval("SELECT EXISTS (SELECT FROM events)"):
            raise LogNotEmpty(f"the log is not empty (its head is at position {head})")
        async with aclosing(_linked(lines, chain)) as chunks:
            async for chunk, parsed, rows in chunks:
                await _copy(conn, chunk, parsed, rows)
                if progress is not None:
                    progress(chain.position, None)
        await conn.execute(
            "UPDATE log_head SET position = $1, hash = $2", chain.position, chain.hash
        )
        await conn.execute("TRUNCATE catalog_funkos, catalog_categories")  # an empty log's
        await CatalogProjection().fold_from_start(conn, chain.position)
        await conn.execute(
            "UPDATE projection_positions SET position = $1 WHERE name = $2", chain.position, NAME
        )
    await CatalogProjection.tidy(conn)
    await conn.execute("ANALYZE events, log_clock")  # the planner's statistics of the new log
    return Restored(chain.count, chain.position, chain.hash)


async def _linked(lines: Iterable[bytes], chain: Chain) -> AsyncGenerator[Linked, None]:
    """Chunks of lines, parsed and linked in a thread: the next chunk is made ready while
    the caller copies this one, so Python's work and PostgreSQL's overlap."""
    loop = asyncio.get_running_loop()
    read = (line.rstrip(b"\n") for line in lines)
    numbered = count(1, CHUNK)

    def next_chunk() -> Linked:
        chunk = list(islice(read, CHUNK))
        parsed = parse(next(numbered), chunk)
        return chunk, parsed, chain.link(parsed)

    with ThreadPoolExecutor(1, "restore") as reading:
        upcoming = loop.run_in_executor(reading, next_chunk)
        try:
            while (linked := await upcoming)[0]:
                upcoming = loop.run_in_executor(reading, next_chunk)
                yield linked
        finally:
            await asyncio.gather(upcoming, return_exceptions=True)


async def _copy(
    conn: Connection, chunk: list[bytes], parsed: list[Parsed], rows: list[tuple[Any, ...]]
) -> None:
    """COPY a chunk in, then read it back as ``replay`` would write it: each line must come
    back as it was (the file's own spelling of a text, a time, a number), or it is refused."""
    await conn.copy_records_to_table("events", records=rows, columns=COLUMNS)
    written = await conn.fetch(REPLAYED, rows[0][0], rows[-1][0])
    for line, again, one in zip(chunk, written, parsed, strict=True):
        if again[0].encode() != line:
            raise NotRestorable(
                one.number, "it would not replay as written (a value spelt otherwise)"
            )
