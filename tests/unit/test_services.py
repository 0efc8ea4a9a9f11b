"""FunkoService over in-memory fakes of its ports."""

from copy import deepcopy
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.funko import Funko, FunkoDeleted, FunkoNotFound
from domain.ports import CatalogPage, CatalogQuery, Category, FunkoDocument, VersionConflict
from domain.rules import InvalidFunko
from domain.services import MAX_ATTEMPTS, FunkoService, PreconditionFailed, TooMuchContention


class FakeFunkos:
    """A FunkoRepository in memory; ``rivals`` are amends another writer commits first."""

    def __init__(self) -> None:
        self.stored: dict[UUID, Funko] = {}
        self.saves: list[tuple[UUID, int, str]] = []
        self.rivals: list[dict[str, Any]] = []

    async def get(self, funko_id: UUID, version: int | None = None) -> Funko:
        if funko_id not in self.stored:
            raise FunkoNotFound(str(funko_id))
        return deepcopy(self.stored[funko_id])

    async def save(self, funko: Funko, actor: str) -> None:
        if self.rivals:
            rival = deepcopy(self.stored[funko.id])
            rival.amend(self.rivals.pop(0))
            self._commit(rival, "rival")
        stored = self.stored.get(funko.id)
        if (stored.version if stored else 0) != funko.version - 1:
            raise VersionConflict()
        self._commit(funko, actor)

    def _commit(self, funko: Funko, actor: str) -> None:
        funko.collect_events()
        self.stored[funko.id] = deepcopy(funko)
        self.saves.append((funko.id, funko.version, actor))


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
    return {"name": f"Groot {uuid4().hex[:6]}", "price": Decimal("9.50"), "stock": 3,
            "category": "marvel", **overrides}


async def test_creating_saves_a_funko_at_version_1(
    service: FunkoService, funkos: FakeFunkos
) -> None:
    funko = await service.create(new_fields(), "alice")
    assert funkos.saves == [(funko.id, 1, "alice")]
    assert (await funkos.get(funko.id)).category == "MARVEL"


async def test_an_invalid_funko_is_not_saved(service: FunkoService, funkos: FakeFunkos) -> None:
    with pytest.raises(InvalidFunko):
        await service.create(new_fields(price=-1), "alice")
    assert funkos.saves == []


async def test_replacing_amending_and_deleting_each_save_one_version(
    service: FunkoService, funkos: FakeFunkos
) -> None:
    funko = await service.create(new_fields(), "alice")
    await service.replace(funko.id, new_fields(name="Rocket", stock=1), "bob")
    await service.amend(funko.id, {"price": 12}, "carol", expected=2)
    await service.delete(funko.id, "dave", expected=3)
    assert [(v, a) for _, v, a in funkos.saves] == [
        (1, "alice"), (2, "bob"), (3, "carol"), (4, "dave"),
    ]
    stored = await funkos.get(funko.id)
    assert (stored.name, stored.stock, stored.price, stored.deleted) == (
        "Rocket", 1, Decimal("12.00"), True,
    )


async def test_a_stale_if_match_is_refused_and_saves_nothing(
    service: FunkoService, funkos: FakeFunkos
) -> None:
    funko = await service.create(new_fields(), "alice")
    await service.amend(funko.id, {"stock": 4}, "alice")
    with pytest.raises(PreconditionFailed) as caught:
        await service.amend(funko.id, {"stock": 99}, "bob", expected=1)
    assert caught.value.current == 2
    with pytest.raises(PreconditionFailed):
        await service.delete(funko.id, "bob", expected=3)
    assert len(funkos.saves) == 2
    assert (await funkos.get(funko.id)).stock == 4


async def test_a_conflict_without_if_match_is_retried_on_the_winner(
    service: FunkoService, funkos: FakeFunkos
) -> None:
    funko = await service.create(new_fields(), "alice")
    funkos.rivals = [{"stock": 7}, {"name": "Star-Lord"}]
    amended = await service.amend(funko.id, {"price": 1}, "bob")
    assert amended.version == 4
    stored = await funkos.get(funko.id)
    assert (stored.version, stored.stock, stored.name, stored.price) == (
        4, 7, "Star-Lord", Decimal("1.00"),
    )
    assert [a for _, _, a in funkos.saves] == ["alice", "rival", "rival", "bob"]


async def test_a_conflict_with_if_match_becomes_precondition_failed(
    service: FunkoService, funkos: FakeFunkos
) -> None:
    funko = await service.create(new_fields(), "alice")
    funkos.rivals = [{"stock": 7}]
    with pytest.raises(PreconditionFailed) as caught:
        await service.amend(funko.id, {"stock": 1}, "bob", expected=1)
    assert caught.value.current == 2
    assert (await funkos.get(funko.id)).stock == 7
    assert [a for _, _, a in funkos.saves] == ["alice", "rival"]


async def test_a_write_that_always_loses_the_race_gives_up(
    service: FunkoService, funkos: FakeFunkos
) -> None:
    funko = await service.create(new_fields(), "alice")
    funkos.rivals = [{"stock": n} for n in range(MAX_ATTEMPTS)]
    with pytest.raises(TooMuchContention):
        await service.amend(funko.id, {"name": "Loser"}, "bob")
    assert funkos.rivals == []
    assert "bob" not in {a for _, _, a in funkos.saves}


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


@pytest.mark.parametrize("expected", [None, 2])
async def test_a_deleted_funko_refuses_every_change(
    service: FunkoService, funkos: FakeFunkos, expected: int | None
) -> None:
    funko = await service.create(new_fields(), "alice")
    await service.delete(funko.id, "alice")
    for change in (
        service.replace(funko.id, new_fields(), "bob", expected),
        service.amend(funko.id, {"stock": 1}, "bob", expected),
        service.delete(funko.id, "bob", expected),
    ):
        with pytest.raises(FunkoDeleted):
            await change
    assert len(funkos.saves) == 2


async def test_get_serves_the_catalog_document() -> None:
    catalog = FakeCatalog()
    funko_id = uuid4()
    catalog.documents[funko_id] = FunkoDocument(3, '{"version":3}')
    service = FunkoService(FakeFunkos(), catalog)
    assert await service.get(funko_id) == FunkoDocument(3, '{"version":3}')
