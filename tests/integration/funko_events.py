"""Test data for the integration tests: random Funkos and their events as the store takes them."""

from decimal import Decimal
from typing import Any
from uuid import uuid4

from domain.funko import EVENT_TYPES, Funko, changes_of
from infrastructure.event_store import NewEvent
from infrastructure.funko_repository import funko_mapper
from infrastructure.json_codec import dumps

MAPPER = funko_mapper()


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}-{uuid4().hex[:10]}"


def new_fields(category: str | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "name": unique("Funko"),
        "price": Decimal("10.00"),
        "stock": 1,
        "category": category or unique("cat"),
        **overrides,
    }


def pending_event(funko: Funko, actor: str = "tester") -> NewEvent:
    """The one event ``funko`` has pending, as EventSourcedFunkos.save would append it."""
    (domain_event,) = funko.collect_events()
    stored = MAPPER.to_stored_event(domain_event)
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
