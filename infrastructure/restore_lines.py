"""One line of a ``replay`` file made back into what ``events`` stores of it, but its hash.

Everything about a line that needs no other line is done here: its shape, the eventsourcing
record made again from the envelope through the same Mapper (the event's fields are its
``changes``, its time its ``createdAt``), and the text the hash chain covers. What needs the
lines before (the log's order, each Funko's versions, the chain itself) ``restore`` checks.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper

from domain.funko import Funko
from domain.rules import CENTS
from infrastructure import hash_chain
from infrastructure.events import NewEvent
from infrastructure.funko_repository import funko_mapper

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
        self.line, self.why = line, why


class Parsed(NamedTuple):
    """A line's event as stored (its position apart) and the text the chain covers of it."""

    number: int
    position: int
    event: NewEvent
    body: bytes


def parse(first: int, lines: list[bytes]) -> list[Parsed]:
    """The lines numbered from ``first``, parsed; NotRestorable names the first bad one."""
    parsed = []
    for number, line in enumerate(lines, first):
        try:
            parsed.append(_parse(number, line))
        except (ValueError, TypeError, KeyError) as error:
            why = error.why if isinstance(error, NotRestorable) else str(error)
            raise NotRestorable(number, why) from None
    return parsed


def _parse(number: int, line: bytes) -> Parsed:
    written = LINE.fullmatch(line)
    if written is None:
        raise NotRestorable(number, "not an event envelope as run.py replay writes it")
    kind_text, position_text, id_text, version_text, data, changes, at_text, actor_text = (
        written.groups()
    )
    kind, version, funko_id = kind_text.decode(), int(version_text), UUID(id_text.decode())
    created_at = datetime.fromisoformat(at_text.decode()).replace(tzinfo=UTC)
    actor = orjson.loads(actor_text)
    if not isinstance(actor, str):
        raise NotRestorable(number, "actor is not a string")
    orjson.loads(data)  # JSON, or the line is refused
    record = _record(kind, funko_id, version, created_at, orjson.loads(changes))
    stored = _mapper().to_stored_event(record)
    event = NewEvent(
        funko_id=funko_id,
        version=version,
        type=kind,
        topic=stored.topic,
        state=stored.state.decode(),
        data=data.decode(),
        changes=changes.decode(),
        actor=actor,
        created_at=created_at,
    )
    return Parsed(number, int(position_text), event, hash_chain.body(event))


@cache
def _mapper() -> Mapper[UUID]:
    return funko_mapper()


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
