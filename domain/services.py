"""Commands and queries on the catalog: load -> one aggregate call -> append."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.funko import Funko, FunkoNotFound, VersionNotFound
from domain.ports import (
    Catalog,
    CatalogPage,
    CatalogQuery,
    Category,
    Command,
    FunkoDocument,
    FunkoRepository,
    IdempotencyKey,
    Recorded,
)


class PreconditionFailed(Exception):
    """If-Match does not hold: the Funko is at another version, or deleted (``current`` None)."""

    def __init__(self, current: int | None) -> None:
        super().__init__(
            "the Funko was deleted" if current is None else f"the Funko is at version {current}"
        )
        self.current = current


@dataclass(frozen=True)
class IfMatch:
    """A change's precondition (RFC 9110 If-Match): the Funko is live and, unless any version
    will do (``*``, versions None), at one of ``versions``."""

    versions: frozenset[int] | None = None

    def check(self, funko: Funko) -> None:
        if funko.deleted:
            raise PreconditionFailed(None)
        if self.versions is not None and funko.version not in self.versions:
            raise PreconditionFailed(funko.version)


class FunkoService:
    """The use cases of the catalog, over a repository (writes) and a catalog (reads)."""

    def __init__(self, repository: FunkoRepository, catalog: Catalog) -> None:
        self.repository = repository
        self.catalog = catalog

    async def create(
        self, fields: dict[str, Any], actor: str, key: IdempotencyKey | None = None
    ) -> Recorded:
        return await self.repository.save(Funko.register(fields), actor, key)

    async def replace(
        self,
        funko_id: UUID,
        fields: dict[str, Any],
        actor: str,
        condition: IfMatch | None = None,
        key: IdempotencyKey | None = None,
    ) -> Recorded:
        command = _guarded(condition, lambda funko: funko.replace(fields))
        return await self.repository.change(funko_id, actor, command, key)

    async def amend(
        self,
        funko_id: UUID,
        fields: dict[str, Any],
        actor: str,
        condition: IfMatch | None = None,
        key: IdempotencyKey | None = None,
    ) -> Recorded:
        command = _guarded(condition, lambda funko: funko.amend(fields))
        return await self.repository.change(funko_id, actor, command, key)

    async def delete(
        self,
        funko_id: UUID,
        actor: str,
        condition: IfMatch | None = None,
        key: IdempotencyKey | None = None,
    ) -> Recorded:
        command = _guarded(condition, Funko.delete)
        return await self.repository.change(funko_id, actor, command, key)

    async def state_at(self, funko_id: UUID, version: int) -> Funko:
        """The Funko as it stood at ``version``, rebuilt from its events (deleted ones too)."""
        funko = await self.repository.get(funko_id, version)
        if funko.version != version:
            raise VersionNotFound(str(funko_id), version)
        return funko

    async def get(self, funko_id: UUID) -> FunkoDocument:
        document = await self.catalog.find(funko_id)
        if document is None:
            raise FunkoNotFound(str(funko_id))
        return document

    async def search(self, query: CatalogQuery) -> CatalogPage:
        return await self.catalog.search(query)

    async def categories(self) -> list[Category]:
        return await self.catalog.categories()


def _guarded(condition: IfMatch | None, command: Callable[[Funko], None]) -> Command:
    """``command``, applied only if ``condition`` holds (the commands refuse deleted Funkos)."""
    if condition is None:
        return command

    def guarded(funko: Funko) -> None:
        condition.check(funko)
        command(funko)

    return guarded
