"""Searching the catalog (paging, filters, sorting) and listing its categories."""

from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.rest import Client, body_of, create, fetch, field_error, send
from tests.support.shop import CATEGORIES, FUNKOS, unique

SORT_KEYS = ["id", "name", "price", "stock", "category", "createdAt", "updatedAt"]


async def search(client: Client, **params: Any) -> dict[str, Any]:
    page: dict[str, Any] = await body_of(
        await client.get(FUNKOS, params={k: str(v) for k, v in params.items()}), 200
    )
    return page


def ids(page: dict[str, Any]) -> list[str]:
    return [funko["id"] for funko in page["content"]]


async def categories(client: Client) -> dict[str, int]:
    listed = await body_of(await client.get(CATEGORIES), 200)
    return {entry["name"]: entry["count"] for entry in listed}


async def test_pages_split_the_matches(client: Client) -> None:
    category = unique("paging")
    created = {(await create(client, category=category))["id"] for _ in range(5)}
    first = await search(client, category=category.upper(), size=2)
    assert {k: v for k, v in first.items() if k != "content"} == {
        "pageNumber": 0,
        "pageSize": 2,
        "totalElements": 5,
        "totalPages": 3,
        "first": True,
        "last": False,
    }
    middle = await search(client, category=category.upper(), size=2, page=1)
    assert (middle["first"], middle["last"], len(middle["content"])) == (False, False, 2)
    last = await search(client, category=category.upper(), size=2, page=2)
    assert (last["pageNumber"], last["first"], last["last"], len(last["content"])) == (
        2,
        False,
        True,
        1,
    )
    seen = ids(first) + ids(middle) + ids(last)
    assert sorted(seen) == sorted(created)
    beyond = await search(client, category=category.upper(), size=2, page=3)
    assert (beyond["content"], beyond["totalElements"]) == ([], 5)


async def test_default_page_is_the_first_ten(client: Client) -> None:
    category = unique("default")
    for _ in range(11):
        await create(client, category=category)
    page = await search(client, category=category.upper())
    assert (page["pageNumber"], page["pageSize"], len(page["content"])) == (0, 10, 10)
    assert (page["totalElements"], page["totalPages"], page["last"]) == (11, 2, False)


async def test_no_match_is_an_empty_page(client: Client) -> None:
    page = await search(client, category=unique("nothing"))
    assert page["content"] == []
    assert (page["totalElements"], page["totalPages"], page["first"], page["last"]) == (
        0,
        0,
        True,
        True,
    )


async def test_name_matches_a_case_insensitive_substring(client: Client) -> None:
    token = unique("Needle")
    wanted = {
        (await create(client, name=f"Baby {token.upper()} Yoda"))["id"],
        (await create(client, name=f"{token.lower()}"))["id"],
    }
    await create(client, name=f"Baby {token[:-1]} Yoda")
    assert set(ids(await search(client, name=token.swapcase()))) == wanted


@pytest.mark.parametrize("name", ["İstanbul", "ΣΊΣΥΦΟΣ", "σίσυφος", "Straße"])
async def test_a_name_search_finds_the_name_as_written(client: Client, name: str) -> None:
    token = unique("Folded")
    funko = await create(client, name=f"{token} {name}")
    assert ids(await search(client, name=f"{token} {name}")) == [funko["id"]]
    assert ids(await search(client, name=f"{token} {name}".upper())) == [funko["id"]]


async def test_name_treats_like_wildcards_literally(client: Client) -> None:
    token = unique("wild")
    percent = (await create(client, name=f"{token}%off"))["id"]
    underscore = (await create(client, name=f"{token}_off"))["id"]
    await create(client, name=f"{token}xoff")
    assert ids(await search(client, name=f"{token}%")) == [percent]
    assert ids(await search(client, name=f"{token}_")) == [underscore]


async def test_category_filter_keeps_only_that_category(client: Client) -> None:
    category, other = unique("kept"), unique("other")
    wanted = {(await create(client, category=category))["id"] for _ in range(2)}
    await create(client, category=other)
    assert set(ids(await search(client, category=category.upper()))) == wanted


async def test_price_and_stock_bounds_are_inclusive(client: Client) -> None:
    category = unique("bounds").upper()
    by_price: dict[str, str] = {}
    for price, stock in [("9.99", 0), ("10.00", 4), ("15.50", 5), ("20.00", 6), ("20.01", 9)]:
        funko = await create(client, category=category, price=float(price), stock=stock)
        by_price[price] = funko["id"]
    between = await search(client, category=category, minPrice="10.00", maxPrice=20, sortBy="price")
    assert ids(between) == [by_price["10.00"], by_price["15.50"], by_price["20.00"]]
    assert ids(await search(client, category=category, minPrice="20.01")) == [by_price["20.01"]]
    assert ids(await search(client, category=category, maxPrice="9.99")) == [by_price["9.99"]]
    stocked = await search(client, category=category, minStock=5, sortBy="stock")
    assert ids(stocked) == [by_price["15.50"], by_price["20.00"], by_price["20.01"]]
    both = await search(client, category=category, minStock=5, maxPrice="20")
    assert set(ids(both)) == {by_price["15.50"], by_price["20.00"]}


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("sort_by", SORT_KEYS)
async def test_sorts_by_each_key(client: Client, sort_by: str, direction: str) -> None:
    token = unique("sort")
    made = []
    for letter, price, stock in [("c", 30, 5), ("a", 10.5, 50), ("d", 0.99, 20), ("b", 99.99, 1)]:
        made.append(await create(client, name=f"{token}-{letter}", price=price, stock=stock))
    # The first one changes last, so updatedAt's order differs from createdAt's.
    await body_of(await send(client, "PATCH", f"{FUNKOS}/{made[0]['id']}", {"stock": 7}), 200)
    current = [await fetch(client, funko["id"]) for funko in made]
    expected = sorted(current, key=lambda f: f[sort_by], reverse=direction == "desc")
    page = await search(client, name=token, sortBy=sort_by, direction=direction)
    assert ids(page) == [funko["id"] for funko in expected]
    assert page["content"] == expected


async def test_sorts_by_name_ascending_by_default(client: Client) -> None:
    token = unique("byname")
    for letter in "cadb":
        await create(client, name=f"{token}-{letter}")
    names = [funko["name"] for funko in (await search(client, name=token))["content"]]
    assert names == [f"{token}-{letter}" for letter in "abcd"]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("size", "0"),
        ("size", "101"),
        ("size", "ten"),
        ("page", "-1"),
        ("page", "1.5"),
        ("sortBy", "bogus"),
        ("sortBy", "name; DROP TABLE events"),
        ("direction", "sideways"),
        ("minPrice", "abc"),
        ("minPrice", "NaN"),
        ("maxPrice", "Infinity"),
        ("minStock", "many"),
        ("minStock", "1.5"),
        ("colour", "red"),
    ],
)
async def test_invalid_query_is_bad_request(client: Client, param: str, value: str) -> None:
    await field_error(await client.get(FUNKOS, params={param: value}), param)


async def test_a_repeated_query_parameter_is_bad_request(client: Client) -> None:
    await field_error(await client.get(f"{FUNKOS}?page=0&page=1"), "page")


async def test_categories_are_sorted_with_live_counts(client: Client) -> None:
    star, marvel = unique("star wars"), unique("marvel")
    for _ in range(2):
        await create(client, category=star)
    await create(client, category=f"  {marvel.upper()} ")
    await create(client, category=marvel)
    listed = await body_of(await client.get(CATEGORIES), 200)
    names = [entry["name"] for entry in listed]
    assert names == sorted(set(names))
    counts = {entry["name"]: entry["count"] for entry in listed}
    assert (counts[star.upper()], counts[marvel.upper()]) == (2, 2)


async def test_a_category_goes_when_its_last_funko_is_deleted(client: Client) -> None:
    category = unique("fleeting")
    first, second = await create(client, category=category), await create(client, category=category)
    assert (await send(client, "DELETE", f"{FUNKOS}/{first['id']}")).status == 204
    assert (await categories(client))[category.upper()] == 1
    assert (await send(client, "DELETE", f"{FUNKOS}/{second['id']}")).status == 204
    assert category.upper() not in await categories(client)


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_a_category_goes_when_its_last_funko_moves(client: Client, method: str) -> None:
    old, new = unique("old"), unique("new")
    funko = await create(client, category=old)
    body = (
        {"category": new}
        if method == "PATCH"
        else {"name": funko["name"], "price": 1, "stock": 1, "category": new}
    )
    await body_of(await send(client, method, f"{FUNKOS}/{funko['id']}", body), 200)
    listed = await categories(client)
    assert old.upper() not in listed
    assert listed[new.upper()] == 1
    assert ids(await search(client, category=new.upper())) == [funko["id"]]
    assert (await search(client, category=old.upper()))["totalElements"] == 0


async def test_prices_in_a_page_are_exact(client: Client) -> None:
    category = unique("cents")
    raw = f'{{"name": "{unique("Cents")}", "price": 0.30, "stock": 1, "category": "{category}"}}'
    await body_of(await send(client, "POST", FUNKOS, raw), 201)
    page = await search(client, category=category.upper())
    assert page["content"][0]["price"] == Decimal("0.30")
