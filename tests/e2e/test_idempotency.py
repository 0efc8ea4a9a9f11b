"""Idempotency-Key: a retry gets the first answer again, and one key makes at most one event."""

import asyncio
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from aiohttp import ClientResponse

from tests.e2e.rest import Client, body_of, create, fetch, problem, send
from tests.support.shop import FUNKOS, funko_fields
from tests.support.tokens import bearer

WRITE_HEADERS = ("ETag", "Location", "X-Log-Position")


def keyed(key: str, **headers: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **headers}


async def answered(response: ClientResponse) -> tuple[int, str, dict[str, str | None]]:
    """What a client sees of a write's answer: status, body, and the headers that matter."""
    return (
        response.status,
        await response.text(),
        {h: response.headers.get(h) for h in WRITE_HEADERS},
    )


async def events_of(pool: asyncpg.Pool, funko_id: str) -> list[int]:
    rows = await pool.fetch("SELECT version FROM events WHERE funko_id = $1 ORDER BY 1", funko_id)
    return [row[0] for row in rows]


async def test_a_retried_create_gets_the_first_answer_and_makes_one_funko(
    client: Client, pool: asyncpg.Pool
) -> None:
    fields, key = funko_fields(), uuid4().hex
    first = await send(client, "POST", FUNKOS, fields, keyed(key))
    again = await send(client, "POST", FUNKOS, fields, keyed(key))

    assert await answered(again) == await answered(first)
    assert first.status == 201 and "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    created = await body_of(first, 201)
    assert await events_of(pool, created["id"]) == [1]
    page = await body_of(await client.get(FUNKOS, params={"name": fields["name"]}), 200)
    assert page["totalElements"] == 1


@pytest.mark.parametrize(
    ("method", "body"),
    [("PUT", funko_fields()), ("PATCH", {"stock": 3}), ("DELETE", None)],
    ids=["PUT", "PATCH", "DELETE"],
)
async def test_a_retried_change_gets_the_first_answer_and_changes_once(
    client: Client, pool: asyncpg.Pool, method: str, body: Any
) -> None:
    funko = await create(client)
    path, key = f"{FUNKOS}/{funko['id']}", uuid4().hex
    first = await send(client, method, path, body, keyed(key, **{"If-Match": '"1"'}))
    again = await send(client, method, path, body, keyed(key, **{"If-Match": '"1"'}))

    assert first.status in (200, 204)
    assert await answered(again) == await answered(first)  # a DELETE again: 204, not 404
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await events_of(pool, funko["id"]) == [1, 2]


async def test_a_body_written_otherwise_but_equal_as_json_is_the_same_request(
    client: Client,
) -> None:
    key, name = uuid4().hex, f"Same {uuid4().hex[:8]}"
    first = f'{{"name": "{name}", "price": 19.9, "stock": 1, "category": "same"}}'
    again = f'{{"category":"same","stock":1,"price":19.90,"name":"{name}"}}'
    created = await body_of(await send(client, "POST", FUNKOS, first, keyed(key)), 201)
    replayed = await send(client, "POST", FUNKOS, again, keyed(key))
    assert (await body_of(replayed, 201))["id"] == created["id"]


@pytest.mark.parametrize(
    "other",
    [
        "another body",
        "another method",
        "another path",
        "another If-Match",
        # Requests that would fail on their own: the reused key is what they are told.
        "an invalid body",
        "an unknown Funko",
        "a stale If-Match",
    ],
)
async def test_a_key_reused_for_another_request_is_422_and_changes_nothing(
    client: Client, pool: asyncpg.Pool, other: str
) -> None:
    funko = await create(client)
    path, key = f"{FUNKOS}/{funko['id']}", uuid4().hex
    await body_of(await send(client, "PATCH", path, {"stock": 5}, keyed(key)), 200)
    before = await fetch(client, funko["id"])
    method, target, body, headers = "PATCH", path, {"stock": 5}, keyed(key)
    if other == "another body":
        body = {"stock": 6}
    elif other == "another method":
        method, body = "PUT", funko_fields()
    elif other == "another path":
        target = f"{FUNKOS}/{(await create(client))['id']}"
    elif other == "another If-Match":
        headers = keyed(key, **{"If-Match": '"2"'})
    elif other == "an invalid body":
        body = {"stock": -1}
    elif other == "an unknown Funko":
        target = f"{FUNKOS}/{uuid4()}"
    else:
        headers = keyed(key, **{"If-Match": '"1"'})
    await problem(await send(client, method, target, body, headers), 422)
    assert await fetch(client, funko["id"]) == before


async def test_keys_are_each_callers_own(client: Client) -> None:
    fields, key = funko_fields(), uuid4().hex
    alice = await send(client, "POST", FUNKOS, fields, {**bearer(sub="alice"), **keyed(key)})
    bob = await send(client, "POST", FUNKOS, fields, {**bearer(sub="bob"), **keyed(key)})
    assert (await body_of(alice, 201))["id"] != (await body_of(bob, 201))["id"]
    assert "Idempotent-Replayed" not in bob.headers


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "has space", "caf\u00e9", "tab\there"],
    ids=["empty", "256", "space", "latin", "tab"],
)
async def test_a_key_that_is_not_1_to_255_visible_ascii_characters_is_400(
    client: Client, key: str
) -> None:
    headers = {"Idempotency-Key": key.encode().decode("latin-1")}
    document = await problem(await send(client, "POST", FUNKOS, funko_fields(), headers), 400)
    assert "Idempotency-Key" in document["errors"]


async def test_a_key_sent_twice_is_400(client: Client) -> None:
    headers = [("Idempotency-Key", "one"), ("Idempotency-Key", "two"), *bearer().items()]
    response = await client.post(FUNKOS, json=funko_fields(), headers=headers)
    await problem(response, 400)


@pytest.mark.parametrize("failure", ["invalid body", "stale If-Match", "unknown Funko"])
async def test_a_request_that_fails_leaves_its_key_unused(
    client: Client, pool: asyncpg.Pool, failure: str
) -> None:
    funko, key = await create(client), uuid4().hex
    path = f"{FUNKOS}/{funko['id']}"
    if failure == "invalid body":
        await problem(await send(client, "PATCH", path, {"stock": -1}, keyed(key)), 400)
    elif failure == "stale If-Match":
        await problem(
            await send(client, "PATCH", path, {"stock": 1}, keyed(key, **{"If-Match": '"9"'})), 412
        )
    else:
        await problem(
            await send(client, "PATCH", f"{FUNKOS}/{uuid4()}", {"stock": 1}, keyed(key)), 404
        )
    fixed = await send(client, "PATCH", path, {"stock": 2}, keyed(key))
    assert (await body_of(fixed, 200))["version"] == 2
    assert "Idempotent-Replayed" not in fixed.headers


async def test_concurrent_duplicates_in_one_process_make_one_event_and_get_one_answer(
    client: Client, pool: asyncpg.Pool
) -> None:
    fields, key = funko_fields(), uuid4().hex
    responses = await asyncio.gather(
        *(send(client, "POST", FUNKOS, fields, keyed(key)) for _ in range(20))
    )
    answers = [await answered(r) for r in responses]
    assert len(set(map(repr, answers))) == 1 and answers[0][0] == 201, answers[:2]
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    page = await body_of(await client.get(FUNKOS, params={"name": fields["name"]}), 200)
    assert page["totalElements"] == 1


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_every_successful_write_names_the_position_of_its_event(
    client: Client, pool: asyncpg.Pool, method: str
) -> None:
    funko = await create(client)
    path = FUNKOS if method == "POST" else f"{FUNKOS}/{funko['id']}"
    body = {"PUT": funko_fields(), "PATCH": {"stock": 1}, "POST": funko_fields()}.get(method)
    response = await send(client, method, path, body)
    assert response.status in (200, 201, 204), await response.text()
    position = int(response.headers["X-Log-Position"])
    row = await pool.fetchrow(
        "SELECT funko_id::text, version FROM events WHERE position = $1", position
    )
    written = funko["id"] if method != "POST" else (await response.json())["id"]
    assert row is not None and row[0] == written
    assert row[1] == (1 if method == "POST" else 2)
