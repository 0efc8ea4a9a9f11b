"""Test data for the integration tests: random Funkos and their events as the store takes them."""

import asyncio
from decimal import Decimal
from typing import Any

from domain.funko import Funko
from infrastructure.event_store import EventStore
from infrastructure.events import NewEvent
from infrastructure.funko_repository import funko_mapper, new_event
from tests.support.shop import unique

MAPPER = funko_mapper()
# Text that JSON, PostgreSQL and the hash chain must all keep exactly.
NAMES = [
    'Baby "Yoda" says \\"hi\\" \\\\ ok',
    "Grogu 🦖 👨‍👩‍👧‍👦 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ☃",
    "line one\nline two\r\n\ttabbed \u2028 separated \u0085 end",
    "é or e\u0301, İ, ﬁ, ß, \u202ereversed",
    "🦖" * 100,
]
ACTORS = [
    'mallory "the" \\ auditor\n🦖',
    "a" * 5000 + "𝔘" * 1000,
    '{"json": \'like\', "n": [1, 2]}',
    "tab\tand\u2028separator",
    "ß",
]


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


async def append_beside(store: EventStore, good: list[Funko], odd: NewEvent) -> list[object]:
    """The outcomes of appending ``good``'s pending events with ``odd`` among them (fourth),
    all queued at once: so they share a batch."""
    return await asyncio.gather(
        *(store.append(pending_event(f)) for f in good[:3]),
        store.append(odd),
        *(store.append(pending_event(f)) for f in good[3:]),
        return_exceptions=True,
    )
