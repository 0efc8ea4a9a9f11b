"""Funko aggregates in the event log, mapped by eventsourcing's Mapper and JSONTranscoder."""

from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from domain.funko import EVENT_TYPES, Funko, FunkoNotFound, changes_of
from infrastructure.event_store import EventStore, NewEvent
from infrastructure.json_codec import dumps


def funko_mapper() -> Mapper[UUID]:
    """Domain events <-> stored JSON, with exact Decimals and ISO times."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


class EventSourcedFunkos:
    """The FunkoRepository port over the event store."""

    def __init__(self, store: EventStore, mapper: Mapper[UUID] | None = None) -> None:
        self._store = store
        self._mapper = mapper or funko_mapper()

    async def get(self, funko_id: UUID, version: int | None = None) -> Funko:
        funko: Any = None
        for row in await self._store.load(funko_id, version):
            stored = StoredEvent(funko_id, row["version"], row["topic"], row["state"].encode())
            funko = self._mapper.to_domain_event(stored).mutate(funko)  # type: ignore[attr-defined]
        if funko is None:
            raise FunkoNotFound(str(funko_id))
        assert isinstance(funko, Funko)
        return funko

    async def save(self, funko: Funko, actor: str) -> None:
        pending = funko.collect_events()
        # Each command records one event, so the state after it is the aggregate's now.
        if len(pending) != 1:
            raise ValueError(f"a command must record exactly one event, not {len(pending)}")
        await self._store.append([new_event(self._mapper, funko, pending[0], actor)])


def new_event(mapper: Mapper[UUID], funko: Funko, domain_event: Any, actor: str) -> NewEvent:
    """``domain_event`` as the store takes it, ``funko`` being the state right after it."""
    stored = mapper.to_stored_event(domain_event)
    return NewEvent(
        funko_id=funko.id,
        version=stored.originator_version,
        type=EVENT_TYPES[type(domain_event)],
        topic=stored.topic,
        state=stored.state.decode(),
        data=dumps(funko.as_dict()),
        changes=dumps(changes_of(domain_event)),
        category=funko.category,
        actor=actor,
        created_at=domain_event.timestamp,
    )
