"""Consumer groups' admin routes (issue 17's first piece): PUT creates once and never changes a
group's settings silently, GET shows where it stands, DELETE removes it; bad names and bodies
are 400 naming the field."""

from uuid import uuid4

import asyncpg
import pytest

from infrastructure.group_delivery import Ended, GroupDelivery
from tests.e2e.rest import Client, body_of, create, problem, send
from tests.support.shop import unique

GROUPS = "/api/v1/groups"


def fresh() -> str:
    return unique("group").lower()


async def test_a_group_is_created_once_from_the_head_and_shows_where_it_stands(
    client: Client,
) -> None:
    await create(client)
    name = fresh()
    created = await body_of(await send(client, "PUT", f"{GROUPS}/{name}"), 201)
    head = created["head"]
    assert created == {
        "name": name,
        "startAfter": head,
        "types": ["CREATE", "UPDATE", "DELETE"],
        "maxAttempts": 5,
        "checkpoint": head,
        "head": head,
        "lag": 0,
        "members": 0,
        "inFlight": 0,
        "parked": 0,
    }
    assert await body_of(await send(client, "PUT", f"{GROUPS}/{name}", {}), 200) == created
    funko = await create(client)
    await send(client, "PATCH", f"/api/v1/funkos/{funko['id']}", {"stock": 1})
    shown = await body_of(await send(client, "GET", f"{GROUPS}/{name}"), 200)
    assert (shown["lag"], shown["head"], shown["checkpoint"]) == (2, head + 2, head)
    listed = await body_of(await send(client, "GET", GROUPS), 200)
    assert shown in listed
    assert [g["name"] for g in listed] == sorted(g["name"] for g in listed)


async def test_other_settings_under_a_name_are_a_conflict_and_change_nothing(
    client: Client,
) -> None:
    name = fresh()
    settings = {"startAfter": 0, "types": ["UPDATE"], "maxAttempts": 3}
    created = await body_of(await send(client, "PUT", f"{GROUPS}/{name}", settings), 201)
    assert (created["startAfter"], created["types"], created["maxAttempts"]) == (0, ["UPDATE"], 3)
    for other in ({**settings, "maxAttempts": 4}, {**settings, "types": ["CREATE"]}, {}):
        await problem(await send(client, "PUT", f"{GROUPS}/{name}", other), 409)
    shown = await body_of(await send(client, "GET", f"{GROUPS}/{name}"), 200)
    assert shown["maxAttempts"] == 3 and shown["types"] == ["UPDATE"]


async def test_a_deleted_group_is_gone(client: Client) -> None:
    name = fresh()
    await body_of(await send(client, "PUT", f"{GROUPS}/{name}"), 201)
    response = await send(client, "DELETE", f"{GROUPS}/{name}")
    assert response.status == 204
    await problem(await send(client, "GET", f"{GROUPS}/{name}"), 404)
    await problem(await send(client, "DELETE", f"{GROUPS}/{name}"), 404)


@pytest.mark.parametrize("name", ["Upper", "-first", "a" * 65, "sp%20ace", "ünï"])
async def test_a_name_outside_the_rule_is_refused(client: Client, name: str) -> None:
    for method in ("PUT", "GET", "DELETE"):
        document = await problem(await send(client, method, f"{GROUPS}/{name}"), 400)
        assert "name" in document["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"startAfter": -1}, "startAfter"),
        ({"startAfter": "1"}, "startAfter"),
        ({"maxAttempts": 0}, "maxAttempts"),
        ({"maxAttempts": 101}, "maxAttempts"),
        ({"types": []}, "types"),
        ({"types": ["CREATED"]}, "types"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_a_bad_body_is_refused_naming_the_field(
    client: Client, body: dict[str, object], field: str
) -> None:
    document = await problem(await send(client, "PUT", f"{GROUPS}/{fresh()}", body), 400)
    assert any(key.startswith(field) for key in document["errors"]), document


@pytest.mark.parametrize("raw", ["[1]", "{", "null"])
async def test_a_body_that_is_not_a_json_object_is_refused(client: Client, raw: str) -> None:
    await problem(await send(client, "PUT", f"{GROUPS}/{fresh()}", raw), 400)


async def test_metrics_show_each_groups_lag_until_it_is_deleted(client: Client) -> None:
    name = fresh()
    await body_of(await send(client, "PUT", f"{GROUPS}/{name}", {"types": ["DELETE"]}), 201)
    funko = await create(client)
    await send(client, "DELETE", f"/api/v1/funkos/{funko['id']}")
    line = f'funko_group_lag{{group="{name}"}} 1.0'
    assert line in (await (await client.get("/metrics")).text()).splitlines()
    await send(client, "DELETE", f"{GROUPS}/{name}")
    assert f'group="{name}"' not in await (await client.get("/metrics")).text()


async def test_parked_events_are_listed_oldest_first_with_attempts_and_reason(
    client: Client, pool: asyncpg.Pool
) -> None:
    name = fresh()
    settings = {"types": ["UPDATE"], "maxAttempts": 1}
    await body_of(await send(client, "PUT", f"{GROUPS}/{name}", settings), 201)
    assert await body_of(await send(client, "GET", f"{GROUPS}/{name}/parked"), 200) == {
        "events": []
    }
    funko = await create(client)
    for stock in (1, 2):
        await send(client, "PATCH", f"/api/v1/funkos/{funko['id']}", {"stock": stock})
    delivery = GroupDelivery(pool, uuid4())
    for reason in ("no index", None):
        (taken,) = await delivery.claim(name, "m", 10)
        assert await delivery.end(name, "m", [taken.position], reason) == [
            Ended(taken.position, True)
        ]
    parked = await body_of(await send(client, "GET", f"{GROUPS}/{name}/parked"), 200)
    assert [(e["type"], e["data"]["stock"]) for e in parked["events"]] == [
        ("UPDATE", 1),
        ("UPDATE", 2),
    ]
    assert [(e["attempts"], e["reason"]) for e in parked["events"]] == [(1, "no index"), (1, None)]
    assert parked["events"][0]["actor"] == "staff"
    shown = await body_of(await send(client, "GET", f"{GROUPS}/{name}"), 200)
    assert (shown["parked"], shown["inFlight"]) == (2, 0)
    await problem(await send(client, "GET", f"{GROUPS}/{fresh()}/parked"), 404)


@pytest.mark.parametrize("position", ["0", "x", "-1", "²", "9" * 20, "1" * 5000])
async def test_a_retry_of_a_position_that_is_not_one_is_refused(
    client: Client, position: str
) -> None:
    name = fresh()
    await body_of(await send(client, "PUT", f"{GROUPS}/{name}"), 201)
    retry = f"{GROUPS}/{name}/parked/{position}/retry"
    document = await problem(await send(client, "POST", retry), 400)
    assert "position" in document["errors"]
