"""An event of the log in the one shape it has from the append to the hash chain to the row.

``NewEvent``'s fields are the stored columns of ``events`` but its position and hash, in the
order the hash chain covers them and the insert takes them: the store inserts them as they
are (one array per field), the chain hashes them as they are, and ``verify`` reads them back
into the same shape (``COLUMNS``). A projection sees an event as ``LoggedEvent``.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from uuid import UUID


class NewEvent(NamedTuple):
    """An event to append: its Funko and version, type, the eventsourcing record (topic,
    state), the contract's parts (data: the Funko after it, changes), who caused it, when."""

    funko_id: UUID
    version: int
    type: str
    topic: str
    state: str  # JSON text, as the json columns keep it
    data: str
    changes: str
    actor: str
    created_at: datetime


# NewEvent's fields as stored: the json columns read back as the very text written.
COLUMNS = ", ".join(
    f"{name}::text AS {name}" if name in ("state", "data", "changes") else name
    for name in NewEvent._fields
)


class LoggedEvent(NamedTuple):
    """An event with its position, as projections fold it."""

    position: int
    funko_id: UUID
    type: str
    data: str  # the Funko after the event, as JSON text
