"""Funko aggregates in the event log, mapped by eventsourcing's Mapper and JSONTranscoder."""

from collections.abc import Generator, Iterable
from typing import Any
from uuid import UUID

import asyncpg
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from domain.funko import EVENT_TYPES, Funko, FunkoNotFound, changes_of
from domain.ports import Command, IdempotencyKey, Recorded
from infrastructure.change_lines import ChangeLines
from infrastructure.change_lines import Saving as QueuedSave
from infrastructure.event_store import Appending, EventStore
from infrastructure.events import NewEvent
from infrastructure.json_codec import dumps
from infrastructure.snapshots import Snapshots


def funko_mapper() -> Mapper[UUID]:
    """Domain events <-> stored JSON, with exact Decimals and ISO times."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


class Saving:
    """One Funko's event queued in the store; awaiting it gives the Recorded outcome."""

    __slots__ = ("appending", "funko", "new")

    def __init__(self, appending: Appending, new: NewEvent, funko: dict[str, Any]) -> None:
        self.appending, self.new, self.funko = appending, new, funko

    def __await__(self) -> Generator[Any, None, Recorded]:
        positions = yield from self.appending.__await__()
        new = self.new
        return Recorded(new.funko_id, new.version, positions[0], self.funko, new.data)

    def cancel(self) -> None:
        self.appending.cancel()


class EventSourcedFunkos:
    """The FunkoRepository port over the event store, loading from snapshots when given them
    (without, every load folds every event of its Funko)."""

    def __init__(
        self,
        store: EventStore,
        snapshots: Snapshots | None = None,
        mapper: Mapper[UUID] | None = None,
    ) -> None:
        self._store = store
        self._snapshots = snapshots
        self._mapper = mapper or funko_mapper()
        self._lines = ChangeLines(self.get, self._queue)

    async def get(self, funko_id: UUID, version: int | None = None) -> Funko:
        snapshots = self._snapshots
        if snapshots is None:
            funko, _ = fold(self._mapper, funko_id, await self._store.load(funko_id, version))
        else:
            rows = await snapshots.load(funko_id, version)
            funko, taken = fold(self._mapper, funko_id, rows, snapshots.interval)
            if taken is not None:
                snapshots.keep(self._mapper.to_stored_event(taken))
        if funko is None:
            raise FunkoNotFound(str(funko_id))
        assert isinstance(funko, Funko)
        return funko

    async def save(self, funko: Funko, actor: str, key: IdempotencyKey | None = None) -> Recorded:
        return await self._queue(funko, actor, key, None)

    async def change(
        self, funko_id: UUID, actor: str, command: Command, key: IdempotencyKey | None = None
    ) -> Recorded:
        return await self._lines.change(funko_id, actor, command, key)

    def _queue(
        self, funko: Funko, actor: str, key: IdempotencyKey | None, after: QueuedSave | None
    ) -> Saving:
        """Queue the one event ``funko`` has pending, recording ``key`` with it, after the save
        ``after`` (if any)."""
        pending = funko.collect_events()
        # Each command records one event, so the state after it is the aggregate's now.
        if len(pending) != 1:
            raise ValueError(f"a command must record exactly one event, not {len(pending)}")
        state = funko.as_dict()
        new = new_event(self._mapper, funko, pending[0], actor, state)
        previous = after.appending if isinstance(after, Saving) else None
        return Saving(self._store.append(new, previous, key), new, state)


def fold(
    mapper: Mapper[UUID], funko_id: UUID, rows: Iterable[asyncpg.Record], every: int = 0
) -> tuple[Any, Snapshot | None]:
    """The aggregate that ``rows`` (version, topic, state: events, or a snapshot and the events
    after it) fold into, None if there are none; and, if ``every``, a snapshot of it as it stood
    at the last multiple of ``every`` that an event brought it to."""
    funko: Any = None
    taken = None
    for row in rows:
        stored = StoredEvent(funko_id, row["version"], row["topic"], row["state"].encode())
        domain_event = mapper.to_domain_event(stored)
        funko = domain_event.mutate(funko)  # type: ignore[attr-defined]
        if every and funko.version % every == 0 and not isinstance(domain_event, Snapshot):
            taken = Snapshot.take(funko)
    return funko, taken


def new_event(
    mapper: Mapper[UUID],
    funko: Funko,
    domain_event: Any,
    actor: str,
    state: dict[str, Any] | None = None,
) -> NewEvent:
    """``domain_event`` as the store takes it, ``funko`` being the state right after it (whose
    contract view ``state`` is, when the caller has it already)."""
    stored = mapper.to_stored_event(domain_event)
    return NewEvent(
        funko_id=funko.id,
        version=stored.originator_version,
        type=EVENT_TYPES[type(domain_event)],
        topic=stored.topic,
        state=stored.state.decode(),
        data=dumps(funko.as_dict() if state is None else state),
        changes=dumps(changes_of(domain_event)),
        actor=actor,
        created_at=domain_event.timestamp,
    )
