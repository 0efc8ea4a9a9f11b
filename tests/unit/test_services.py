"""FunkoService over in-memory fakes of its ports."""

from copy import deepcopy
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.funko import Funko, FunkoDeleted, FunkoNotFound
from domain.ports import (
    CatalogPage,
    CatalogQuery,
    Category,
    Command,
    FunkoDocument,
    IdempotencyKey,
    Recorded,
    VersionConflict,
)
from domain.rules import InvalidFunko
from domain.services import FunkoService, IfMatch, PreconditionFailed


class FakeFunkos:
    """A FunkoRepository in memory, applying changes one at a time."""

    def __init__(self) -> None:
        self.stored: dict[UUID, Funko] = {}
        self.saves: list[tuple[UUID, int, str]] = []

    async def get(self, funko_id: UUID, version: int | None = None) -> Funko:
        if funko_id not in self.stored:
            raise FunkoNotFound(str(funko_id))
        return deepcopy(self.stored[funko_id])

    async def save(self, funko: Funko, actor: str, key: IdempotencyKey | None = None) -> Recorded:
        stored = self.stored.get(funko.id)
        if (stored.version if stored else 0) != funko.version - 1:
            raise VersionConflict()
        funko.collect_events()
        self.stored[funko.id] = deepcopy(funko)
        self.saves.append((funko.id, funko.version, actor))
        state = funko.as_dict()
        return Recorded(funko.id, funko.version, len(self.saves), state, repr(state))

    async def change(
        self, funko_id: UUID, actor: str, command: Command, key: IdempotencyKey | None = None
    ) -> Recorded:
        funko = await self.get(funko_id)
        command(funko)
        return await self.save(funko, actor)


class FakeCatalog:
    """A Catalog in memory, holding whatever documents a test puts in."""

    def __init__(self) -> None:
        self.documents: dict[UUID, FunkoDocument] = {}

    async def find(self, funko_id: UUID) -> FunkoDocument | None:
        return self.documents.get(funko_id)

    async def search(self, query: CatalogQuery) -> CatalogPage:
        return CatalogPage([d.json for d in self.documents.values()], len(self.documents), query)

    async def categories(self) -> list[Category]:
        return []


@pytest.fixture
def funkos() -> FakeFunkos:
    return FakeFunkos()


@pytest.fixture
def service(funkos: FakeFunkos) -> FunkoService:
    return FunkoService(funkos, FakeCatalog())


def new_fields(**overrides: Any) -> dict[str, Any]:
    return {
        "name": f"Groot {uuid4().hex[:6]}",
        "price": Decimal("9.50"),
        "stock": 3,
        "category": "marvel",
        **overrides,
    }


async def test_creating_saves_a_funko_at_version_1(
    service: FunkoService, funkos: FakeFunkos
) -> None:
    funko = await service.create(new_fields(), "alice")
    assert funkos.saves == [(funko.funko_id, 1, "alice")]
    assert (await funkos.get(funko.funko_id)).category == "MARVEL"


async def test_an_invalid_funko_is_not_saved(service: FunkoService, funkos: FakeFunkos) -> None:
    with pytest.raises(InvalidFunko):
        await service.create(new_fields(price=-1), "alice")
    assert funkos.saves == []


async def test_replacing_amending_and_deleting_each_save_one_version(
    service: FunkoService, funkos: FakeFunkos
) -> None:
    funko = await service.create(new_fields(), "alice")
    await service.replace(funko.funko_id, new_fields(name="Rocket", stock=1), "bob")
    await service.amend(funko.funko_id, {"price": 12}, "carol", IfMatch(frozenset({2})))
    await service.delete(funko.funko_id, "dave", IfMatch(frozenset({3})))
    assert [(v, a) for _, v, a in funkos.saves] == [
        (1, "alice"),
        (2, "bob"),
        (3, "carol"),
        (4, "dave"),
    ]
    stored = await funkos.get(funko.funko_id)
    assert (stored.name, stored.stock, stored.price, stored.deleted) == (
        "Rocket",
        1,
        Decimal("12.00"),
        True,
    )


async def test_a_stale_if_match_is_refused_and_saves_nothing(
    service: FunkoService, funkos: FakeFunkos
) -> None:
    funko = await service.create(new_fields(), "alice")
    await service.amend(funko.funko_id, {"stock": 4}, "alice")
    with pytest.raises(PreconditionFailed) as caught:
        await service.amend(funko.funko_id, {"stock": 99}, "bob", IfMatch(frozenset({1})))
    assert caught.value.current == 2
    with pytest.raises(PreconditionFailed):
        await service.delete(funko.funko_id, "bob", IfMatch(frozenset({3})))
    assert len(funkos.saves) == 2
    assert (await funkos.get(funko.funko_id)).stock == 4


async def test_an_unknown_funko_is_not_found(service: FunkoService, funkos: FakeFunkos) -> None:
    unknown = uuid4()
    with pytest.raises(FunkoNotFound):
        await service.replace(unknown, new_fields(), "alice")
    with pytest.raises(FunkoNotFound):
        await service.amend(unknown, {"stock": 1}, "alice")
    with pytest.raises(FunkoNotFound):
        await service.delete(unknown, "alice")
    with pytest.raises(FunkoNotFound):
        await service.get(unknown)
    assert funkos.saves == []


async def test_a_deleted_funko_refuses_every_change(
    service: FunkoService, funkos: FakeFunkos
) -> None:
    funko = await service.create(new_fields(), "alice")
    await service.delete(funko.funko_id, "alice")
    for change in (
        service.replace(funko.funko_id, new_fields(), "bob"),
        service.amend(funko.funko_id, {"stock": 1}, "bob"),
        service.delete(funko.funko_id, "bob"),
    ):
        with pytest.raises(FunkoDeleted):
            await change
    assert len(funkos.saves) == 2


@pytest.mark.parametrize("condition", [IfMatch(), IfMatch(frozenset({2})), IfMatch(frozenset())])
async def test_if_match_on_a_deleted_funko_fails_as_a_precondition(
    service: FunkoService, funkos: FakeFunkos, condition: IfMatch
) -> None:
    funko = await service.create(new_fields(), "alice")
    await service.delete(funko.funko_id, "alice")
    for change in (
        service.replace(funko.funko_id, new_fields(), "bob", condition),
        service.amend(funko.funko_id, {"stock": 1}, "bob", condition),
        service.delete(funko.funko_id, "bob", condition),
    ):
        with pytest.raises(PreconditionFailed) as caught:
            await change
        assert caught.value.current is None
    assert len(funkos.saves) == 2


async def test_if_match_holds_for_any_version_it_lists_or_any_at_all(
    service: FunkoService, funkos: FakeFunkos
) -> None:
    funko = await service.create(new_fields(), "alice")
    amended = await service.amend(funko.funko_id, {"stock": 1}, "bob", IfMatch(frozenset({7, 1})))
    assert amended.version == 2
    amended = await service.amend(funko.funko_id, {"stock": 2}, "bob", IfMatch())
    assert amended.version == 3
    with pytest.raises(PreconditionFailed) as caught:
        await service.amend(funko.funko_id, {"stock": 3}, "bob", IfMatch(frozenset({1, 2})))
    assert caught.value.current == 3
    assert len(funkos.saves) == 3


async def test_get_serves_the_catalog_document() -> None:
    catalog = FakeCatalog()
    funko_id = uuid4()
    catalog.documents[funko_id] = FunkoDocument(3, '{"version":3}')
    service = FunkoService(FakeFunkos(), catalog)
    assert await service.get(funko_id) == FunkoDocument(3, '{"version":3}')
