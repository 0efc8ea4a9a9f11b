"""Conditional requests as RFC 9110 defines them: lists, weak tags, ``*``."""

from typing import Any

import pytest

from tests.e2e.rest import Client, body_of, create, fetch, problem, send
from tests.support.shop import FUNKOS, funko_fields

WRITES = [("PATCH", {"stock": 5}), ("PUT", None), ("DELETE", None)]


async def at_version_3(client: Client) -> str:
    """A new Funko moved on to version 3; its path."""
    funko = await create(client)
    path = f"{FUNKOS}/{funko['id']}"
    for stock in (1, 2):
        await body_of(await send(client, "PATCH", path, {"stock": stock}), 200)
    return path


def body_for(method: str, given: dict[str, int] | None) -> dict[str, Any] | None:
    return funko_fields() if method == "PUT" else given


@pytest.mark.parametrize(("method", "given"), WRITES, ids=[m for m, _ in WRITES])
@pytest.mark.parametrize("if_match", ['"2", "3"', '"3","9"', '"7" , "3"', "*"])
async def test_if_match_holds_when_any_listed_tag_is_the_current_version(
    client: Client, method: str, given: dict[str, int] | None, if_match: str
) -> None:
    path = await at_version_3(client)
    response = await send(client, method, path, body_for(method, given), {"If-Match": if_match})
    assert response.status in (200, 204), await response.text()


@pytest.mark.parametrize(("method", "given"), WRITES, ids=[m for m, _ in WRITES])
@pytest.mark.parametrize("if_match", ['W/"3"', '"2", W/"3"', '"1", "2"', '"3', "3", '""'])
async def test_if_match_fails_on_weak_tags_other_versions_and_garbage(
    client: Client, method: str, given: dict[str, int] | None, if_match: str
) -> None:
    path = await at_version_3(client)
    before = await fetch(client, path.rsplit("/", 1)[1])
    response = await send(client, method, path, body_for(method, given), {"If-Match": if_match})
    await problem(response, 412)
    assert response.headers["ETag"] == '"3"'
    assert await fetch(client, before["id"]) == before


@pytest.mark.parametrize(("method", "given"), WRITES, ids=[m for m, _ in WRITES])
@pytest.mark.parametrize("if_match", ["*", '"2"', '"1", "2"'])
async def test_if_match_on_a_deleted_funko_fails_as_a_precondition(
    client: Client, method: str, given: dict[str, int] | None, if_match: str
) -> None:
    funko = await create(client)
    path = f"{FUNKOS}/{funko['id']}"
    assert (await send(client, "DELETE", path)).status == 204
    response = await send(client, method, path, body_for(method, given), {"If-Match": if_match})
    await problem(response, 412)
    assert "ETag" not in response.headers
    await problem(await send(client, method, path, body_for(method, given)), 404)


@pytest.mark.parametrize("if_none_match", ['"3"', 'W/"3"', '"1", "3"', 'W/"2", W/"3"', "*"])
async def test_if_none_match_holding_the_current_version_weakly_is_not_modified(
    client: Client, if_none_match: str
) -> None:
    path = await at_version_3(client)
    response = await client.get(path, headers={"If-None-Match": if_none_match})
    assert response.status == 304
    assert response.headers["ETag"] == '"3"'
    assert await response.read() == b""


@pytest.mark.parametrize("if_none_match", ['"2"', 'W/"1", "2"', '"3', "garbage", ""])
async def test_if_none_match_without_the_current_version_gets_the_funko(
    client: Client, if_none_match: str
) -> None:
    path = await at_version_3(client)
    response = await client.get(path, headers={"If-None-Match": if_none_match})
    assert (await body_of(response, 200))["version"] == 3
