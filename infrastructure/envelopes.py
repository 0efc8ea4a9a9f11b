"""Event envelopes as the contract shows them, assembled by PostgreSQL from the stored JSON.

``data`` and ``changes`` are kept as ``json`` (text), so an envelope is a concatenation: no
event is parsed or re-encoded in Python on its way to a subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    import asyncpg

    from infrastructure.database import Connection

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


@dataclass(frozen=True, slots=True)
class Entry:
    """One event of the log: what filters look at, its envelope as UTF-8 JSON, and that
    envelope as a whole WebSocket text frame; both made once, shared by every subscriber."""

    position: int
    funko_id: UUID
    type: str
    envelope: bytes
    frame: bytes


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


async def entries_after(db: asyncpg.Pool, after: int, limit: int) -> list[Entry]:
    """Up to ``limit`` events with position > ``after``, in position order."""
    rows = await db.fetch(AFTER, after, limit)
    entries = []
    for position, funko_id, kind, text in rows:
        envelope = text.encode()
        entries.append(Entry(position, funko_id, kind, envelope, text_frame(envelope)))
    return entries


async def head(db: asyncpg.Pool | Connection) -> int:
    """The newest committed position (0 for an empty log)."""
    return int(await db.fetchval("SELECT position FROM log_head"))
