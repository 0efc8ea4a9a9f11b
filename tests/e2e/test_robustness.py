"""Odd but well-formed input: a 4xx or a faithful round trip, never a 5xx, never harming others."""

import asyncio
import json

import pytest

from tests.e2e.rest import Client, body_of, create, fetch, field_error, problem, send
from tests.support.shop import FUNKOS, funko_fields, unique

NUL_VALUES = {
    "name": "Baby\u0000Yoda",
    "category": "star\u0000wars",
    "image": "https://img.example/\u0000.png",
}


@pytest.mark.parametrize("field", NUL_VALUES)
async def test_a_nul_character_is_refused_or_kept(client: Client, field: str) -> None:
    fields = funko_fields(**{field: NUL_VALUES[field]})
    response = await send(client, "POST", FUNKOS, fields)
    assert response.status in (201, 400), f"{response.status}: {await response.text()}"
    if response.status == 400:
        await field_error(response, field)
    else:
        created = await body_of(response, 201)
        stored = await fetch(client, created["id"])
        assert stored[field] == (fields[field].upper() if field == "category" else fields[field])


@pytest.mark.parametrize("field", NUL_VALUES)
async def test_a_nul_character_in_a_patch_is_refused_or_kept(client: Client, field: str) -> None:
    funko = await create(client)
    response = await send(client, "PATCH", f"{FUNKOS}/{funko['id']}", {field: NUL_VALUES[field]})
    assert response.status in (200, 400), f"{response.status}: {await response.text()}"
    if response.status == 400:
        await field_error(response, field)
        assert await fetch(client, funko["id"]) == funko


async def test_a_bad_write_does_not_fail_concurrent_good_ones(client: Client) -> None:
    good = [funko_fields() for _ in range(20)]
    bad = [funko_fields(name="Baby\u0000Yoda") for _ in range(3)]
    bodies = good[:10] + bad + good[10:]
    responses = await asyncio.gather(*(send(client, "POST", FUNKOS, b) for b in bodies))
    statuses = {b["name"]: r.status for b, r in zip(bodies, responses, strict=True)}
    assert [statuses[b["name"]] for b in good] == [201] * 20, statuses


@pytest.mark.parametrize("field", ["name", "category", "image"])
async def test_a_lone_surrogate_is_bad_request(client: Client, field: str) -> None:
    value = '"https://img.example/\\ud800.png"' if field == "image" else '"Baby \\ud800 Yoda"'
    rest = json.dumps({k: v for k, v in funko_fields().items() if k != field})
    response = await send(client, "POST", FUNKOS, f'{{"{field}": {value}, {rest[1:]}')
    await field_error(response, field)


@pytest.mark.parametrize(
    "query",
    [
        "name=%00",
        "category=%00",
        "name=%ED%A0%80",
        "minPrice=1e-1000000",
        "maxPrice=1e-1000000",
        "minPrice=0.001",
        "minPrice=1e2",
    ],
)
async def test_odd_search_values_never_fail_the_server(client: Client, query: str) -> None:
    response = await client.get(f"{FUNKOS}?{query}")
    assert response.status in (200, 400), f"{response.status}: {await response.text()}"
    if response.status == 400:
        await problem(response, 400)


async def test_a_category_that_grows_when_upper_cased_stays_within_50(client: Client) -> None:
    # "ß" upper-cases to "SS": 30 characters in, 60 out.
    response = await send(client, "POST", FUNKOS, funko_fields(category="ß" * 30))
    if response.status == 400:
        await field_error(response, "category")
        return
    funko = await body_of(response, 201)
    assert 1 <= len(funko["category"]) <= 50, funko["category"]
    again = {k: funko[k] for k in ("name", "price", "stock", "image", "category")}
    await body_of(await send(client, "PUT", f"{FUNKOS}/{funko['id']}", again), 200)


async def test_a_funko_as_returned_can_be_put_back(client: Client) -> None:
    funko = await create(client, name=unique("Ünïcödé Grogu"), category=unique("mañana"))
    fields = {k: funko[k] for k in ("name", "price", "stock", "image", "category")}
    replaced = await body_of(await send(client, "PUT", f"{FUNKOS}/{funko['id']}", fields), 200)
    assert {k: replaced[k] for k in fields} == fields
    assert replaced["version"] == 2
