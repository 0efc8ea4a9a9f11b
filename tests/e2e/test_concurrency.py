"""Concurrent writes to one Funko, and read-your-writes across server processes."""

import asyncio

from tests.e2e.conftest import StartServer
from tests.e2e.rest import Client, body_of, create, fetch, problem, send
from tests.support.shop import CATEGORIES, FUNKOS, funko_fields, unique


async def test_concurrent_patches_without_if_match_are_all_applied(client: Client) -> None:
    funko = await create(client, stock=0)
    path = f"{FUNKOS}/{funko['id']}"
    responses = await asyncio.gather(
        *(send(client, "PATCH", path, {"stock": n}) for n in range(1, 31))
    )
    applied = [await body_of(response, 200) for response in responses]
    assert sorted(a["version"] for a in applied) == list(range(2, 32))
    last = next(a for a in applied if a["version"] == 31)
    final = await fetch(client, funko["id"])
    assert final["version"] == 31
    assert final["stock"] == last["stock"]


async def test_concurrent_patches_on_two_servers_are_all_applied(
    start_server: StartServer,
) -> None:
    one, two = await start_server(), await start_server()
    funko = await create(one, stock=0)
    path = f"{FUNKOS}/{funko['id']}"
    responses = await asyncio.gather(
        *(send((one, two)[n % 2], "PATCH", path, {"stock": n}) for n in range(1, 21))
    )
    versions = sorted([(await body_of(r, 200))["version"] for r in responses])
    assert versions == list(range(2, 22))
    assert (await fetch(two, funko["id"]))["version"] == 21


async def test_only_one_of_concurrent_writes_with_the_same_if_match_wins(client: Client) -> None:
    funko = await create(client, stock=0)
    path = f"{FUNKOS}/{funko['id']}"
    responses = await asyncio.gather(
        *(send(client, "PATCH", path, {"stock": n}, {"If-Match": '"1"'}) for n in range(1, 21))
    )
    statuses = sorted(response.status for response in responses)
    assert statuses == [200] + [412] * 19, statuses
    winner = next(r for r in responses if r.status == 200)
    won = await body_of(winner, 200)
    for loser in (r for r in responses if r.status == 412):
        await problem(loser, 412)
    final = await fetch(client, funko["id"])
    assert (final["version"], final["stock"]) == (2, won["stock"])


async def test_concurrent_deletes_delete_once(client: Client) -> None:
    funko = await create(client)
    path = f"{FUNKOS}/{funko['id']}"
    responses = await asyncio.gather(*(send(client, "DELETE", path) for _ in range(10)))
    assert sorted(r.status for r in responses) == [204] + [404] * 9
    await problem(await client.get(path), 404)


async def test_a_write_on_one_server_is_read_at_once_on_another(
    start_server: StartServer,
) -> None:
    writer, reader = await start_server(), await start_server()
    category = unique("across")
    funko = await create(writer, category=category)
    assert await fetch(reader, funko["id"]) == funko
    page = await body_of(await reader.get(FUNKOS, params={"category": category.upper()}), 200)
    assert [f["id"] for f in page["content"]] == [funko["id"]]
    listed = await body_of(await reader.get(CATEGORIES), 200)
    assert {"name": category.upper(), "count": 1} in listed

    path = f"{FUNKOS}/{funko['id']}"
    updated = await body_of(await send(writer, "PUT", path, funko_fields(category=category)), 200)
    response = await reader.get(path)
    assert await body_of(response, 200) == updated
    assert response.headers["ETag"] == '"2"'
    page = await body_of(await reader.get(FUNKOS, params={"name": updated["name"]}), 200)
    assert page["content"] == [updated]

    assert (await send(writer, "DELETE", path)).status == 204
    await problem(await reader.get(path), 404)
    listed = await body_of(await reader.get(CATEGORIES), 200)
    assert category.upper() not in {c["name"] for c in listed}


async def test_if_match_is_checked_against_writes_from_another_server(
    start_server: StartServer,
) -> None:
    one, two = await start_server(), await start_server()
    funko = await create(one)
    path = f"{FUNKOS}/{funko['id']}"
    await body_of(await send(one, "PATCH", path, {"stock": 1}, {"If-Match": '"1"'}), 200)
    await problem(await send(two, "PATCH", path, {"stock": 2}, {"If-Match": '"1"'}), 412)
    moved = await body_of(await send(two, "PATCH", path, {"stock": 3}, {"If-Match": '"2"'}), 200)
    assert moved["version"] == 3
    assert await fetch(one, funko["id"]) == moved
