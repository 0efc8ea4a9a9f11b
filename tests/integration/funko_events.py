"""Test data for the integration tests: random Funkos and their events as the store takes them."""

from decimal import Decimal
from typing import Any

from domain.funko import Funko
from infrastructure.events import NewEvent
from infrastructure.funko_repository import funko_mapper, new_event
from tests.support.shop import unique

MAPPER = funko_mapper()


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
    return new_event(MAPPER, funko, domain_event, actor)
