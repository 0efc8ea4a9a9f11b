"""The event log's hash chain: each event's hash covers its own content and the previous hash.

``hash(n) = sha256(hash(n-1) || content(n))``, from 32 zero bytes before the first event.
The content is every stored column of the event as text (the ``json`` columns exactly as
stored, ``created_at`` as microseconds since 1970), each written ``<length>:<text>,`` so no
two different events share one encoding.
Migration 0004's ``event_link`` computes the same in SQL (it hashed the events logged
before the chain existed); a test holds the two to agreement.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import NamedTuple
from uuid import UUID

GENESIS = bytes(32)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
# What the chain covers, in order: also the columns `verify` reads back.
COLUMNS = (
    "position, funko_id, version, type, topic, state::text AS state, data::text AS data,"
    " changes::text AS changes, actor, created_at"
)


class Content(NamedTuple):
    """One event's stored columns, as the chain sees them."""

    position: int
    funko_id: UUID
    version: int
    type: str
    topic: str
    state: str
    data: str
    changes: str
    actor: str
    created_at: datetime


def link(previous: bytes, content: Content) -> bytes:
    """The hash of the event with ``content`` that follows the one hashed ``previous``."""
    return follow(previous, content.position, body(content))


def body(content: Content) -> bytes:
    """What the chain covers of an event but its position: known before the position is, so
    an appender encodes it outside the commit (and a field that cannot be encoded fails there)."""
    fields = (
        str(content.funko_id),
        str(content.version),
        content.type,
        content.topic,
        content.state,
        content.data,
        content.changes,
        content.actor,
        str((content.created_at - EPOCH) // MICROSECOND),
    )
    return "".join([f"{len(text)}:{text}," for text in fields]).encode()


def follow(previous: bytes, position: int, encoded: bytes) -> bytes:
    """The hash of the event at ``position`` whose other columns ``body`` encoded."""
    at = str(position)
    return sha256(previous + f"{len(at)}:{at},".encode() + encoded).digest()
