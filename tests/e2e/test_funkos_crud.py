"""Creating, reading, replacing, amending and deleting Funkos over REST."""

from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from tests.e2e.rest import Client, body_of, create, fetch, problem, send
from tests.support.contract import FUNKO_KEYS, RFC3339_MICROS
from tests.support.shop import FUNKOS, funko_fields, unique


async def test_created_funko_is_returned_whole_with_location_and_etag(client: Client) -> None:
    fields = funko_fields()
    response = await send(client, "POST", FUNKOS, fields)
    funko = await body_of(response, 201)

    assert set(funko) == set(FUNKO_KEYS)
    UUID(funko["id"])
    assert funko["name"] == fields["name"]
    assert funko["price"] == Decimal("19.99")
    assert funko["stock"] == 12
    assert funko["image"] == fields["image"]
    assert funko["category"] == fields["category"].upper()
    assert funko["version"] == 1
    assert RFC3339_MICROS.match(funko["createdAt"]), funko["createdAt"]
    assert RFC3339_MICROS.match(funko["updatedAt"]), funko["updatedAt"]
    assert funko["updatedAt"] >= funko["createdAt"]
    assert response.headers["ETag"] == '"1"'
    location = response.headers["Location"]
    assert location.endswith(f"{FUNKOS}/{funko['id']}")
    assert await body_of(await client.get(location), 200) == funko


@pytest.mark.parametrize("price", ["19.99", "0.30", "0.07", "1.10", "0", "123456.78", "1000000"])
async def test_price_is_kept_exact(client: Client, price: str) -> None:
    raw = f'{{"name": "{unique("Exact")}", "price": {price}, "stock": 1, "category": "exact"}}'
    created = await body_of(await send(client, "POST", FUNKOS, raw), 201)
    assert created["price"] == Decimal(price)
    assert (await fetch(client, created["id"]))["price"] == Decimal(price)


async def test_category_is_upper_cased_and_text_trimmed(client: Client) -> None:
    name, category = unique("Baby Yoda"), unique("star wars")
    funko = await create(client, name=f"  {name}\t ", category=f" {category} ")
    assert funko["name"] == name
    assert funko["category"] == category.upper()


async def test_image_is_null_when_absent(client: Client) -> None:
    fields = funko_fields()
    del fields["image"]
    funko = await body_of(await send(client, "POST", FUNKOS, fields), 201)
    assert funko["image"] is None
    assert (await fetch(client, funko["id"]))["image"] is None


async def test_get_answers_the_current_version_as_etag(client: Client) -> None:
    funko = await create(client)
    response = await client.get(f"{FUNKOS}/{funko['id']}")
    assert await body_of(response, 200) == funko
    assert response.headers["ETag"] == '"1"'


async def test_unknown_id_is_not_found(client: Client) -> None:
    await problem(await client.get(f"{FUNKOS}/{uuid4()}"), 404)


async def test_malformed_id_is_bad_request(client: Client) -> None:
    await problem(await client.get(f"{FUNKOS}/not-a-uuid"), 400)
    await problem(await send(client, "PATCH", f"{FUNKOS}/123", {"stock": 1}), 400)
    await problem(await send(client, "DELETE", f"{FUNKOS}/123"), 400)


async def test_replace_sets_every_field_and_bumps_the_version(client: Client) -> None:
    funko = await create(client)
    new = funko_fields(price=5, stock=0)
    del new["image"]
    response = await send(client, "PUT", f"{FUNKOS}/{funko['id']}", new)
    replaced = await body_of(response, 200)
    assert response.headers["ETag"] == '"2"'
    assert replaced["version"] == 2
    assert (replaced["name"], replaced["price"], replaced["stock"]) == (new["name"], 5, 0)
    assert replaced["image"] is None
    assert replaced["category"] == new["category"].upper()
    assert replaced["createdAt"] == funko["createdAt"]
    assert replaced["updatedAt"] > funko["updatedAt"]
    assert await fetch(client, funko["id"]) == replaced


@pytest.mark.parametrize("missing", ["name", "price", "stock", "category"])
async def test_replace_needs_every_field(client: Client, missing: str) -> None:
    funko = await create(client)
    new = funko_fields()
    del new[missing]
    document = await problem(await send(client, "PUT", f"{FUNKOS}/{funko['id']}", new), 400)
    assert missing in document.get("errors", {}), document
    assert (await fetch(client, funko["id"]))["version"] == 1


async def test_amend_changes_only_the_fields_given(client: Client) -> None:
    funko = await create(client)
    response = await send(client, "PATCH", f"{FUNKOS}/{funko['id']}", {"stock": 3})
    amended = await body_of(response, 200)
    assert response.headers["ETag"] == '"2"'
    assert amended == {**funko, "stock": 3, "version": 2, "updatedAt": amended["updatedAt"]}
    again = await body_of(
        await send(client, "PATCH", f"{FUNKOS}/{funko['id']}", {"price": 24.5, "image": None}), 200
    )
    assert (again["version"], again["price"], again["image"], again["stock"]) == (3, 24.5, None, 3)
    assert await fetch(client, funko["id"]) == again


async def test_matching_if_match_lets_writes_through(client: Client) -> None:
    funko = await create(client)
    path = f"{FUNKOS}/{funko['id']}"
    patched = await send(client, "PATCH", path, {"stock": 1}, {"If-Match": '"1"'})
    assert (await body_of(patched, 200))["version"] == 2
    replaced = await send(client, "PUT", path, funko_fields(), {"If-Match": '"2"'})
    assert (await body_of(replaced, 200))["version"] == 3
    assert (await send(client, "DELETE", path, headers={"If-Match": '"3"'})).status == 204


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_stale_if_match_is_refused_and_changes_nothing(client: Client, method: str) -> None:
    funko = await create(client)
    path = f"{FUNKOS}/{funko['id']}"
    await body_of(await send(client, "PATCH", path, {"stock": 7}), 200)
    before = await fetch(client, funko["id"])
    body = {"stock": 99} if method == "PATCH" else funko_fields() if method == "PUT" else None
    response = await send(client, method, path, body, {"If-Match": '"1"'})
    await problem(response, 412)
    assert await fetch(client, funko["id"]) == before
    assert before["version"] == 2


@pytest.mark.parametrize("tag", ['"²"', '"١"', '"' + "9" * 5000 + '"', '"v1"'])
async def test_an_if_match_that_names_no_version_is_refused(client: Client, tag: str) -> None:
    funko = await create(client)
    path = f"{FUNKOS}/{funko['id']}"
    await problem(await send(client, "PATCH", path, {"stock": 3}, {"If-Match": tag}), 412)
    assert await fetch(client, funko["id"]) == funko


async def test_deleted_funko_is_gone(client: Client) -> None:
    funko = await create(client)
    path = f"{FUNKOS}/{funko['id']}"
    response = await send(client, "DELETE", path)
    assert response.status == 204
    assert await response.read() == b""
    await problem(await client.get(path), 404)
    await problem(await send(client, "DELETE", path), 404)
    await problem(await send(client, "PUT", path, funko_fields()), 404)
    await problem(await send(client, "PATCH", path, {"stock": 1}), 404)


async def test_writes_to_an_unknown_id_are_not_found(client: Client) -> None:
    path = f"{FUNKOS}/{uuid4()}"
    await problem(await send(client, "PUT", path, funko_fields()), 404)
    await problem(await send(client, "PATCH", path, {"stock": 1}), 404)
    await problem(await send(client, "DELETE", path), 404)


async def test_unknown_route_is_problem_not_found(client: Client) -> None:
    await problem(await client.get("/api/v1/nothing-here"), 404)
    await problem(await client.get("/api/v2/funkos"), 404)


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", FUNKOS), ("POST", "/api/v1/categories"), ("POST", "/health")]
)
async def test_wrong_method_is_problem_method_not_allowed(
    client: Client, method: str, path: str
) -> None:
    response = await send(client, method, path, {})
    await problem(response, 405)
    assert "Allow" in response.headers


async def test_health_and_ready_answer_ok(client: Client) -> None:
    assert (await client.get("/health")).status == 200
    assert (await client.get("/ready")).status == 200
