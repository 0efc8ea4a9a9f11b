"""What the services need from storage, declared beside the domain; adapters implement them."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol, get_args
from uuid import UUID

from domain.funko import Funko

# What a catalog page may be sorted by (each served by an index), and in which direction.
SortKey = Literal["id", "name", "price", "stock", "category", "createdAt", "updatedAt"]
SORTABLE: tuple[SortKey, ...] = get_args(SortKey)
Direction = Literal["asc", "desc"]


class VersionConflict(Exception):
    """The Funko moved on since it was loaded: the expected version is stale."""


class TooMuchContention(Exception):
    """A change lost the race to other processes' changes too many times in a row."""


@dataclass(frozen=True)
class IdempotencyKey:
    """A request's Idempotency-Key: recorded with the event the request appends, in the same
    transaction, so that a retry of the request is recognised and no key makes two events."""

    owner: str  # the token's sub: keys are each caller's own
    key: str
    fingerprint: bytes  # of what the request asked, to tell a retry from another request


class KeyTaken(Exception):
    """The command's Idempotency-Key already made an event: nothing was written."""


@dataclass(frozen=True)
class Recorded:
    """A command's event as the log took it: the Funko right after it, and its position."""

    funko_id: UUID
    version: int
    position: int
    funko: Mapping[str, Any]  # as the contract shows it (Funko.as_dict)
    json: str  # the same as JSON text, as the log keeps it


Command = Callable[[Funko], None]  # one call on the aggregate, recording one event


class FunkoRepository(Protocol):
    """Funko aggregates, loaded from and saved to the event log."""

    async def get(self, funko_id: UUID, version: int | None = None) -> Funko:
        """The Funko rebuilt from its events (deleted ones too), up to ``version`` if given;
        FunkoNotFound if it has no events."""
        ...

    async def save(self, funko: Funko, actor: str, key: IdempotencyKey | None = None) -> Recorded:
        """Append the event a new Funko has pending (recording ``key`` with it), or raise
        VersionConflict or KeyTaken and write nothing."""
        ...

    async def change(
        self, funko_id: UUID, actor: str, command: Command, key: IdempotencyKey | None = None
    ) -> Recorded:
        """Apply ``command`` to the Funko as it stands and append the event it records.

        Concurrent changes of one Funko are applied one after the other, each to the state
        the one before left, none lost; what ``command`` raises is raised, nothing written.
        FunkoNotFound if the Funko has no events; TooMuchContention if other processes kept
        changing it first; KeyTaken if ``key`` made an event already.
        """
        ...


@dataclass(frozen=True)
class FunkoDocument:
    """A Funko from the read model: its version and its contract JSON, ready to send."""

    version: int
    json: str


@dataclass(frozen=True)
class CatalogQuery:
    """Filters, sort and page of a catalog search; validated by the web layer's model."""

    name: str | None = None
    category: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_stock: int | None = None
    page: int = 0
    size: int = 10
    sort_by: SortKey = "name"
    direction: Direction = "asc"


@dataclass(frozen=True)
class CatalogPage:
    """One page of Funkos (as JSON texts) and the count of all that match."""

    content: Sequence[str]
    total: int
    query: CatalogQuery = field(default_factory=CatalogQuery)


@dataclass(frozen=True)
class Category:
    name: str
    count: int


class Catalog(Protocol):
    """The read side: the catalog as the projection keeps it."""

    async def find(self, funko_id: UUID) -> FunkoDocument | None: ...

    async def search(self, query: CatalogQuery) -> CatalogPage: ...

    async def categories(self) -> list[Category]: ...
