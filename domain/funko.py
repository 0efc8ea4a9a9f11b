"""The Funko aggregate: a collectable figure whose every change is a recorded event."""

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.rules import FIELDS, check_fields


class FunkoNotFound(LookupError):
    """No live Funko has this id (never created, or deleted)."""


class FunkoDeleted(FunkoNotFound):
    """The Funko was deleted: it refuses further changes."""


class VersionNotFound(FunkoNotFound):
    """The Funko never reached the version asked for."""

    def __init__(self, funko_id: str, version: int) -> None:
        super().__init__(funko_id)
        self.funko_id, self.version = funko_id, version


class NothingToChange(ValueError):
    """A change that names no field."""


def rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds, the contract's one time format."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Funko(Aggregate):
    """A Funko Pop figure in a shop's catalog."""

    class Created(Aggregate.Created):
        name: str
        price: Decimal
        stock: int
        image: str | None
        category: str

    class Updated(Aggregate.Event):
        changes: dict[str, Any]

    class Deleted(Aggregate.Event):
        pass

    @event(Created)
    def __init__(
        self, name: str, price: Decimal, stock: int, image: str | None, category: str
    ) -> None:
        self.name = name
        self.price = price
        self.stock = stock
        self.image = image
        self.category = category
        self.deleted = False

    @classmethod
    def register(cls, fields: dict[str, Any]) -> "Funko":
        """Create a Funko from raw fields, enforcing every rule."""
        return cls(**check_fields(fields, required=True))

    def replace(self, fields: dict[str, Any]) -> None:
        """Set every field (image may be left out, meaning none)."""
        self.check_not_deleted()
        self._update(changes=check_fields(fields, required=True))

    def amend(self, fields: dict[str, Any]) -> None:
        """Set some fields, leaving the others as they are."""
        self.check_not_deleted()
        if not fields:
            raise NothingToChange("name at least one field to change")
        self._update(changes=check_fields(fields, required=False))

    def delete(self) -> None:
        """Withdraw the Funko from the catalog; its history stays."""
        self.check_not_deleted()
        self._delete()

    @event(Updated)
    def _update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    @event(Deleted)
    def _delete(self) -> None:
        self.deleted = True

    def check_not_deleted(self) -> None:
        if self.deleted:
            raise FunkoDeleted(str(self.id))

    def as_dict(self) -> dict[str, Any]:
        """The Funko as the contract shows it (price stays an exact Decimal)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "price": self.price,
            "stock": self.stock,
            "image": self.image,
            "category": self.category,
            "version": self.version,
            "createdAt": rfc3339(self.created_on),
            "updatedAt": rfc3339(self.modified_on),
        }


class EventType(StrEnum):
    """What a Funko's event did, as the log and the contract name it."""

    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


EVENT_TYPES: dict[type[Any], EventType] = {
    Funko.Created: EventType.CREATE,
    Funko.Updated: EventType.UPDATE,
    Funko.Deleted: EventType.DELETE,
}


def changes_of(domain_event: Any) -> dict[str, Any]:
    """The fields an event set: all for Created, the changed ones for Updated, none for Deleted."""
    if isinstance(domain_event, Funko.Created):
        return {k: getattr(domain_event, k) for k in FIELDS}
    if isinstance(domain_event, Funko.Updated):
        return dict(domain_event.changes)
    return {}
