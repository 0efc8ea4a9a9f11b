"""What responses hold, as pydantic models used only to write the OpenAPI document.

Handlers emit their JSON directly (often spliced from documents PostgreSQL stores), so these
models validate nothing at run time; the tests check real responses against their schemas.
"""

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.alias_generators import to_camel
from typing_extensions import TypedDict

from domain.funko import EventType
from domain.rules import CATEGORY_MAX, IMAGE_MAX, NAME_MAX, STOCK_MAX

Timestamp = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$",
        json_schema_extra={"format": "date-time"},
        description="RFC 3339, UTC, with microseconds.",
    ),
]
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
Price = Annotated[float, Field(ge=0, le=1_000_000, description="At most 2 decimals.")]
Stock = Annotated[int, Field(ge=0, le=STOCK_MAX)]
Image = Annotated[str, Field(max_length=IMAGE_MAX)] | None
Category = Annotated[str, Field(min_length=1, max_length=CATEGORY_MAX)]
Position = Annotated[int, Field(ge=0, description="A place in the global event log.")]
Version = Annotated[int, Field(ge=1)]


class Shape(BaseModel):
    """A JSON object with camelCase keys and no keys beyond those named."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid")


class Funko(Shape):
    """A Funko as the catalog shows it."""

    id: UUID
    name: Name
    price: Price
    stock: Stock
    image: Image
    category: Category = Field(description="Stored upper-case.")
    version: Version
    created_at: Timestamp
    updated_at: Timestamp


class FunkoPage(Shape):
    """One page of a search."""

    content: list[Funko]
    page_number: int = Field(ge=0)
    page_size: int = Field(ge=1, le=100)
    total_elements: int = Field(ge=0)
    total_pages: int = Field(ge=0)
    first: bool
    last: bool


class CategoryCount(Shape):
    """A category with at least one live Funko, and how many it has."""

    name: Category
    count: int = Field(ge=1)


class Categories(RootModel[list[CategoryCount]]):
    """Every category with a live Funko, sorted by name."""


class FunkoChanges(TypedDict, total=False):
    """The fields an event set: all of them for CREATE, none for DELETE."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    name: Name
    price: Price
    stock: Stock
    image: Image
    category: Category


class Envelope(Shape):
    """One event of the log, as WebSocket subscribers get it."""

    entity: Literal["FUNKOS"]
    type: EventType
    position: int = Field(ge=1, description="Strictly increasing in commit order.")
    funko_id: UUID
    version: Version
    data: Funko = Field(description="The Funko as it stood after the event.")
    changes: FunkoChanges
    created_at: Timestamp


class AuditedEnvelope(Envelope):
    """An event as auditors see it: also who caused it."""

    actor: str = Field(description="The sub of the token that made the change.")


class History(Shape):
    """Every event of one Funko, oldest first."""

    funko_id: UUID
    events: list[AuditedEnvelope] = Field(min_length=1)


class EventsPage(Shape):
    """A page of the log: ``next`` is the ``after`` of the following page."""

    events: list[AuditedEnvelope]
    next: Position
    head: Position = Field(description="The newest position when the page was read.")


class CaughtUp(Shape):
    """Sent once per WebSocket: every event up to ``position`` has been sent."""

    type: Literal["CAUGHT_UP"]
    position: Position


class Delivery(Envelope):
    """An event sent to a consumer group's member: also which delivery of it this is."""

    attempt: int = Field(ge=1, le=100, description="1, then one more each time it comes again.")


class ProblemDetails(Shape):
    """An error (RFC 9457); ``errors`` names the fields at fault, for validation only."""

    type: str
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    errors: dict[str, str] = Field(default_factory=dict)


class Group(Shape):
    """A consumer group: its settings, and where it stands in the log."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    start_after: Position
    types: list[EventType] = Field(min_length=1)
    max_attempts: int = Field(ge=1, le=100)
    checkpoint: Position = Field(description="Every matching event up to it is done or parked.")
    head: Position
    lag: int = Field(ge=0, description="Matching events after the checkpoint.")
    members: int = Field(ge=0)
    in_flight: int = Field(ge=0)
    parked: int = Field(ge=0)


class ParkedEvent(AuditedEnvelope):
    """An event a group set aside: its deliveries, and the last reason a member gave."""

    attempts: int = Field(ge=1)
    reason: str | None


class ParkedEvents(Shape):
    """A group's parked events, oldest first."""

    events: list[ParkedEvent]


class Groups(RootModel[list[Group]]):
    """Every consumer group, by name."""


class Liveness(Shape):
    """The process runs."""

    status: Literal["UP"]


class Readiness(Shape):
    """The database answers."""

    status: Literal["READY"]


RESPONSES: tuple[type[BaseModel], ...] = (
    Funko,
    FunkoPage,
    Categories,
    Envelope,
    AuditedEnvelope,
    History,
    EventsPage,
    CaughtUp,
    Delivery,
    ProblemDetails,
    Group,
    Groups,
    ParkedEvents,
    Liveness,
    Readiness,
)
