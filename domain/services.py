"""Commands and queries on the catalog: load -> one aggregate call -> append."""

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain.funko import Funko, FunkoNotFound, VersionNotFound
from domain.ports import (
    Catalog,
    CatalogPage,
    CatalogQuery,
    Category,
    FunkoDocument,
    FunkoRepository,
    VersionConflict,
)

# Writers without If-Match retry on conflict; each round at least one rival commits,
# so this bounds the wait of the unluckiest of this many concurrent writers.
MAX_ATTEMPTS = 200


class PreconditionFailed(Exception):
    """If-Match named a version that is not the Funko's current one."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the Funko is at version {current}")
        self.current = current


class TooMuchContention(Exception):
    """A write lost the race too many times in a row; the client may retry."""


class FunkoService:
    """The use cases of the catalog, over a repository (writes) and a catalog (reads)."""

    def __init__(self, repository: FunkoRepository, catalog: Catalog) -> None:
        self.repository = repository
        self.catalog = catalog

    async def create(self, fields: dict[str, Any], actor: str) -> Funko:
        funko = Funko.register(fields)
        await self.repository.save(funko, actor)
        return funko

    async def replace(
        self, funko_id: UUID, fields: dict[str, Any], actor: str, expected: int | None = None
    ) -> Funko:
        return await self._change(funko_id, actor, expected, lambda f: f.replace(fields))

    async def amend(
        self, funko_id: UUID, fields: dict[str, Any], actor: str, expected: int | None = None
    ) -> Funko:
        return await self._change(funko_id, actor, expected, lambda f: f.amend(fields))

    async def delete(self, funko_id: UUID, actor: str, expected: int | None = None) -> Funko:
        return await self._change(funko_id, actor, expected, Funko.delete)

    async def _change(
        self, funko_id: UUID, actor: str, expected: int | None, command: Callable[[Funko], None]
    ) -> Funko:
        for _ in range(MAX_ATTEMPTS):
            funko = await self.repository.get(funko_id)
            funko.check_not_deleted()
            if expected is not None and funko.version != expected:
                raise PreconditionFailed(funko.version)
            command(funko)
            try:
                await self.repository.save(funko, actor)
            except VersionConflict:
                continue
            return funko
        raise TooMuchContention(str(funko_id))

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
