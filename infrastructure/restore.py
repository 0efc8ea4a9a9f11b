"""``run.py restore``: a ``replay`` file loaded back into an empty log, all or nothing.

Each line is an auditor's envelope as ``replay`` writes it (envelopes.AUDITED). The envelope
holds every stored column but the eventsourcing record (topic, state) and the hash: the record
is made again from the envelope through the same Mapper (the event's fields are its
``changes``, its time its ``createdAt``), and the hash chain linked again, so the restored log
ends on the source's head hash. ``data`` and ``changes`` are kept as the very text of the line,
and each line must be exactly what ``replay`` writes for the event it describes, so a
``replay`` of the result equals the input byte for byte. Rows go in with COPY, a batch at a
time, in one transaction with the head and the read model's fold: a bad line leaves the log
empty and is named.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson

from domain.funko import Funko
from domain.rules import CENTS
from infrastructure import hash_chain
from infrastructure.envelopes import AUDITED
from infrastructure.events import NewEvent
from infrastructure.funko_repository import funko_mapper
from infrastructure.projection import NAME, CatalogProjection

if TYPE_CHECKING:
    from infrastructure.database import Connection

BATCH = 10_000
REPLAYED = f"SELECT {AUDITED} FROM events WHERE position BETWEEN $1 AND $2 ORDER BY position"
COLUMNS = ("position", *NewEvent._fields, "hash")
LINE = re.compile(
    rb'\{"entity":"FUNKOS","type":"(CREATE|UPDATE|DELETE)","position":([0-9]+)'
    rb',"funkoId":"([0-9a-f-]{36})","version":([0-9]+),"data":(.*?),"changes":(.*?)'
    rb',"createdAt":"([0-9T:.-]+)Z","actor":(".*")\}'
)
TOPIC = "domain.funko:Funko"


class NotRestorable(ValueError):
    """A line that is not an event as ``replay`` writes it, or breaks the log's order."""

    def __init__(self, line: int, why: str) -> None:
        super().__init__(f"line {line}: {why}")
        self.line = line


class LogNotEmpty(RuntimeError):
    """Restore loads only into an empty log."""


@dataclass(frozen=True)
class Restored:
    events: int
    head: int
    hash: bytes


def _price(value: Any) -> Decimal:
    return Decimal(repr(value)).quantize(CENTS)


def _fields(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: _price(v) if k == "price" else v for k, v in changes.items()}


def _record(kind: str, funko_id: UUID, version: int, at: datetime, changes: Any) -> Any:
    """The domain event the envelope describes, as the aggregate recorded it."""
    if not isinstance(changes, dict):
        raise ValueError("changes is not an object")
    if kind == "CREATE":
        return Funko.Created(
            originator_id=funko_id,
            originator_version=version,
            timestamp=at,
            originator_topic=TOPIC,
            **_fields(changes),
        )
    if kind == "UPDATE":
        return Funko.Updated(  # type: ignore[call-arg]  # its field is declared, not seen
            originator_id=funko_id,
            originator_version=version,
            timestamp=at,
            changes=_fields(changes),
        )
    return Funko.Deleted(originator_id=funko_id, originator_version=version, timestamp=at)


class Lines:
    """Envelopes to rows: the record made again, order checked, the chain linked."""

    def __init__(self) -> None:
        self._mapper = funko_mapper()
        self._versions: dict[UUID, int] = {}  # each Funko's last version; -1 once deleted
        self.position, self.hash, self.count = 0, hash_chain.GENESIS, 0

    def rows(self, lines: Iterable[bytes]) -> Iterator[tuple[int, bytes, tuple[Any, ...]]]:
        """(line number, the line, its row) for each line."""
        for number, raw in enumerate(lines, 1):
            line = raw.rstrip(b"\n")
            try:
                yield number, line, self._row(line)
            except (_Refused, ValueError, TypeError, KeyError) as error:
                raise NotRestorable(number, str(error)) from None

    def _row(self, line: bytes) -> tuple[Any, ...]:
        written = LINE.fullmatch(line)
        if written is None:
            raise _Refused("not an event envelope as run.py replay writes it")
        kind, position_text, id_text, version_text, data, changes, at_text, actor_text = (
            written.groups()
        )
        position, version, funko_id = int(position_text), int(version_text), UUID(id_text.decode())
        if position <= self.position:
            raise _Refused(f"position {position} does not follow {self.position}")
        expected = self._versions.get(funko_id, 0) + 1
        if expected == 0:
            raise _Refused(f"Funko {funko_id} has an event after its DELETE")
        if version != expected or (kind == b"CREATE") != (version == 1):
            raise _Refused(f"version {version} of Funko {funko_id} does not follow its history")
        created_at = datetime.fromisoformat(at_text.decode()).replace(tzinfo=UTC)
        actor = orjson.loads(actor_text)
        if not isinstance(actor, str):
            raise _Refused("actor is not a string")
        orjson.loads(data)  # JSON, or the line is refused
        stored = self._mapper.to_stored_event(
            _record(kind.decode(), funko_id, version, created_at, orjson.loads(changes))
        )
        event = NewEvent(
            funko_id=funko_id,
            version=version,
            type=kind.decode(),
            topic=stored.topic,
            state=stored.state.decode(),
            data=data.decode(),
            changes=changes.decode(),
            actor=actor,
            created_at=created_at,
        )
        self.hash = hash_chain.link(self.hash, position, event)
        self.position, self.count = position, self.count + 1
        self._versions[funko_id] = -1 if kind == b"DELETE" else version
        return (position, *event, self.hash)


class _Refused(Exception):
    pass


async def restore(conn: Connection, lines: Iterable[bytes], progress: Any = None) -> Restored:
    """Load ``lines`` into the empty log on ``conn`` and fold the read model, in one
    transaction; LogNotEmpty or NotRestorable (nothing written) if it cannot."""
    reader = Lines()
    async with conn.transaction():
        head = await conn.fetchval("SELECT position FROM log_head FOR UPDATE")
        if head != 0 or await conn.fetchval("SELECT EXISTS (SELECT FROM events)"):
            raise LogNotEmpty(f"the log is not empty (its head is at position {head})")
        batch: list[tuple[int, bytes, tuple[Any, ...]]] = []
        for read in reader.rows(lines):
            batch.append(read)
            if len(batch) == BATCH:
                await _copy(conn, batch)
                batch = []
                if progress is not None:
                    progress(reader.position, None)
        await _copy(conn, batch)
        await conn.execute(
            "UPDATE log_head SET position = $1, hash = $2", reader.position, reader.hash
        )
        await conn.execute("TRUNCATE catalog_funkos, catalog_categories")  # an empty log's
        await CatalogProjection().fold_from_start(conn, reader.position)
        await conn.execute(
            "UPDATE projection_positions SET position = $1 WHERE name = $2", reader.position, NAME
        )
    return Restored(reader.count, reader.position, reader.hash)


async def _copy(conn: Connection, batch: list[tuple[int, bytes, tuple[Any, ...]]]) -> None:
    """COPY a batch in, then read it back as ``replay`` would write it: each line must come
    back as it was (the file's own spelling of a text, a time, a number), or it is refused."""
    if not batch:
        return
    rows = [row for _, _, row in batch]
    await conn.copy_records_to_table("events", records=rows, columns=list(COLUMNS))
    written = await conn.fetch(REPLAYED, rows[0][0], rows[-1][0])
    for (number, line, _), again in zip(batch, written, strict=True):
        if again[0].encode() != line:
            raise NotRestorable(number, "it would not replay as written (a value spelt otherwise)")
