"""The event log's hash chain: each event's hash covers its own content and the previous hash.

``hash(n) = sha256(hash(n-1) || content(n))``, from 32 zero bytes before the first event.
The content is the event's position and every stored column of it (``NewEvent``'s fields) as
text (the ``json`` columns exactly as stored, ``created_at`` as microseconds since 1970), each
written ``<length>:<text>,`` so no two different events share one encoding.
Migration 0004's ``event_link`` computes the same in SQL (it hashed the events logged
before the chain existed); a test holds the two to agreement. ``BODY`` is ``body`` in SQL,
for ``verify``: PostgreSQL encodes each stored row, and Python only follows the chain.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from hashlib import sha256

from infrastructure.events import NewEvent

GENESIS = bytes(32)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def _sql_field(text: str) -> str:
    return f"length({text}) || ':' || {text} || ','"


# body(event) of a row of events, as bytea: the same texts, each `<length>:<text>,`.
_TEXTS = {"created_at": "(extract(epoch FROM created_at) * 1000000)::bigint::text"}
BODY = "convert_to({}, 'UTF8')".format(
    " || ".join(_sql_field(_TEXTS.get(name, f"{name}::text")) for name in NewEvent._fields)
)


def link(previous: bytes, position: int, event: NewEvent) -> bytes:
    """The hash of ``event`` at ``position``, following the event hashed ``previous``."""
    return follow(previous, position, body(event))


def body(event: NewEvent) -> bytes:
    """What the chain covers of an event but its position: known before the position is, so
    an appender encodes it outside the commit (and a field that cannot be encoded fails there)."""
    *columns, created_at = event
    texts = [str(column) for column in columns]
    texts.append(str((created_at - EPOCH) // MICROSECOND))
    return "".join([f"{len(text)}:{text}," for text in texts]).encode()


def follow(previous: bytes, position: int, encoded: bytes) -> bytes:
    """The hash of the event at ``position`` whose other columns ``body`` encoded."""
    at = str(position)
    return sha256(previous + f"{len(at)}:{at},".encode() + encoded).digest()
