"""Event envelopes as the contract shows them, assembled by PostgreSQL from the stored JSON.

``data`` and ``changes`` are kept as ``json`` (text), so an envelope is a concatenation: no
event is parsed or re-encoded in Python on its way to a subscriber.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    import asyncpg

    from infrastructure.database import Queries

FIELDS = """
'{"entity":"FUNKOS","type":"' || type || '","position":' || position
|| ',"funkoId":"' || funko_id || '","version":' || version
|| ',"data":' || data::text || ',"changes":' || changes::text
|| ',"createdAt":"' || to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
|| '"'
"""
ENVELOPE = FIELDS + "|| '}'"
# Auditor views (history, /events, replay) also name who caused the event.
AUDITED = FIELDS + """|| ',"actor":' || to_json(actor)::text || '}'"""
AFTER = f"""
SELECT position, funko_id, type, {ENVELOPE} AS envelope
FROM events WHERE position > $1 ORDER BY position LIMIT $2
"""


# The position after which the first event created at or after a time comes (the head if
# none is): log_clock (migration 0008) holds the latest createdAt up to each position, which
# only grows with the position, so one index probe finds it.
START_AT = """
SELECT coalesce(
    (SELECT position - 1 FROM log_clock WHERE reached_at >= $1
     ORDER BY reached_at, position LIMIT 1),
    (SELECT position FROM log_head))
"""


class Entry:
    """One event of the log: what filters look at and its envelope as UTF-8 JSON; framed for
    each transport when first asked, and shared by every subscriber. (A plain class with slots:
    a replay makes a thousand a page.)"""

    __slots__ = ("_sse", "_ws", "envelope", "funko_id", "position", "type")

    def __init__(self, position: int, funko_id: UUID, type: str, envelope: bytes) -> None:
        self.position, self.funko_id, self.type, self.envelope = position, funko_id, type, envelope
        self._ws: bytes | None = None
        self._sse: bytes | None = None

    @property
    def ws_frame(self) -> bytes:
        """The envelope as a WebSocket text frame."""
        if self._ws is None:
            self._ws = text_frame(self.envelope)
        return self._ws

    @property
    def sse_chunk(self) -> bytes:
        """The envelope as a server-sent event (``id:`` its position), in one HTTP chunk."""
        if self._sse is None:
            self._sse = chunk(sse_event(self.envelope, position=self.position))
        return self._sse


def text_frame(payload: bytes) -> bytes:
    """``payload`` as one unmasked, final WebSocket text frame (RFC 6455, 5.2), as servers send.

    A server's frames are the same bytes for every client, so a live event is framed once.
    """
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


def sse_event(data: bytes, position: int | None = None, name: str | None = None) -> bytes:
    """A server-sent event (HTML Living Standard, 9.2): ``event:``, ``id:``, ``data:`` lines
    (one per line of ``data``) and the blank line that ends it."""
    lines = [] if name is None else [b"event: " + name.encode()]
    if position is not None:
        lines.append(b"id: %d" % position)
    lines.extend(b"data: " + line for line in data.split(b"\n"))
    return b"\n".join(lines) + b"\n\n"


def chunk(data: bytes) -> bytes:
    """``data`` as one chunk of an HTTP/1.1 chunked body (RFC 9112, 7.1)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


async def entries_after(db: asyncpg.Pool, after: int, limit: int) -> list[Entry]:
    """Up to ``limit`` events with position > ``after``, in position order."""
    rows = await db.fetch(AFTER, after, limit)
    entries = []
    for position, funko_id, kind, text in rows:
        entries.append(Entry(position, funko_id, kind, text.encode()))
    return entries


async def start_at(db: Queries, since: datetime) -> int:
    """The position after which the first event created at or after ``since`` comes; the head
    if every event is older."""
    return int(await db.fetchval(START_AT, since))


async def head(db: Queries) -> int:
    """The newest committed position (0 for an empty log)."""
    return int(await db.fetchval("SELECT position FROM log_head"))
