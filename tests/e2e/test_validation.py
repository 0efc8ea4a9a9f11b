"""Bodies that break the field rules, the JSON grammar or the size limit: 400/413, never a 5xx."""

import json
import unicodedata
from collections.abc import AsyncIterator

import pytest

from tests.e2e.rest import Client, body_of, create, fetch, field_error, problem, send
from tests.support.shop import CATEGORIES, FUNKOS, funko_fields, unique
from tests.support.tokens import ADMIN

LIMIT = 64 * 1024
JSON_ADMIN = {**ADMIN, "Content-Type": "application/json"}
LONG_URL = "https://img.example/" + "a" * (500 - len("https://img.example/"))

BROKEN_FIELDS = [
    ("name", '""'),
    ("name", '"   "'),
    ("name", json.dumps("n" * 101)),
    ("name", "5"),
    ("name", "null"),
    ("name", json.dumps("\u200b\u200d\ufeff \u2060\u00ad\u180e")),
    ("price", "-0.01"),
    ("price", "-1"),
    ("price", "1.999"),
    ("price", "1000000.01"),
    ("price", "1e400"),
    ("price", '"1"'),
    ("price", "true"),
    ("price", "null"),
    ("price", "[1]"),
    ("stock", "-1"),
    ("stock", "1.5"),
    ("stock", "true"),
    ("stock", "1000001"),
    ("stock", '"3"'),
    ("stock", "null"),
    ("image", '"/img/funko.png"'),
    ("image", '"ftp://img.example/funko.png"'),
    ("image", '"not a url"'),
    ("image", json.dumps(LONG_URL + "a")),
    ("image", "5"),
    ("image", json.dumps("https://a b/<script>")),
    ("image", json.dumps("https://img.example/<script>")),
    ("image", json.dumps("https://img.example:99999/a.png")),
    ("image", json.dumps("https://img..example/a.png")),
    ("category", '""'),
    ("category", '"  "'),
    ("category", json.dumps("c" * 51)),
    ("category", "{}"),
    ("category", json.dumps("\ufeff\u200b")),
    ("colour", '"red"'),
]


def with_raw_field(fields: dict[str, object], field: str, raw: str) -> str:
    """The JSON text of ``fields`` with ``field`` set to the literal JSON ``raw``."""
    rest = json.dumps({k: v for k, v in fields.items() if k != field})
    return f'{{"{field}": {raw}, {rest[1:]}'


@pytest.mark.parametrize(("field", "raw"), BROKEN_FIELDS)
async def test_create_names_the_broken_field(client: Client, field: str, raw: str) -> None:
    fields = funko_fields()
    await field_error(await send(client, "POST", FUNKOS, with_raw_field(fields, field, raw)), field)
    page = await body_of(await client.get(FUNKOS, params={"name": fields["name"]}), 200)
    assert page["totalElements"] == 0


@pytest.mark.parametrize(("field", "raw"), BROKEN_FIELDS)
async def test_amend_names_the_broken_field_and_changes_nothing(
    client: Client, field: str, raw: str
) -> None:
    funko = await create(client)
    response = await send(client, "PATCH", f"{FUNKOS}/{funko['id']}", f'{{"{field}": {raw}}}')
    await field_error(response, field)
    assert await fetch(client, funko["id"]) == funko


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": "n" * 100},
        {"category": "c" * 50},
        {"image": LONG_URL},
        {"image": "http://img.example/a.png"},
        {"price": 1000000, "stock": 1000000},
        {"price": 0, "stock": 0},
    ],
)
async def test_values_at_the_limits_are_accepted(
    client: Client, overrides: dict[str, object]
) -> None:
    funko = await create(client, **overrides)
    for key, value in overrides.items():
        assert funko[key] == (str(value).upper() if key == "category" else value)


async def test_a_category_spelt_in_nfd_is_the_same_category_as_in_nfc(client: Client) -> None:
    base = unique("cafe")
    nfc, nfd = f"{base}\u00e9", f"{base}e\u0301"
    await create(client, category=nfc)
    funko = await create(client, category=nfd)

    assert funko["category"] == nfc.upper() == unicodedata.normalize("NFC", nfd.upper())
    listed = await body_of(await client.get(CATEGORIES), 200)
    ours = [c for c in listed if unicodedata.normalize("NFC", c["name"]) == nfc.upper()]
    assert ours == [{"name": nfc.upper(), "count": 2}]
    found = await body_of(await client.get(FUNKOS, params={"category": nfd}), 200)
    assert found["totalElements"] == 2


async def test_a_name_is_stored_without_invisible_characters_at_its_ends(client: Client) -> None:
    name = unique("Grogu")
    funko = await create(client, name=f"\u200b\ufeff {name}\u2060\u00ad")
    assert funko["name"] == name
    assert (await fetch(client, funko["id"]))["name"] == name


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_price_literals_are_refused(client: Client, literal: str) -> None:
    raw = with_raw_field(funko_fields(), "price", literal)
    await problem(await send(client, "POST", FUNKOS, raw), 400)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b'{"name": ',
        b"{'name': 'Yoda'}",
        b'{"name": "Yoda",}',
        b"\xff\xfe\xfa",
        b"[" * 10000,
        b"[" * 10000 + b"]" * 10000,
        b'{"a":' * 10000,
        b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
    ids=[
        "empty",
        "brace",
        "truncated",
        "quotes",
        "comma",
        "bytes",
        "open",
        "deep",
        "objects",
        "deep-field",
    ],
)
async def test_malformed_json_is_bad_request(client: Client, raw: bytes) -> None:
    await problem(await send(client, "POST", FUNKOS, raw), 400)


@pytest.mark.parametrize("raw", ["[]", "[{}]", '"Yoda"', "42", "null", "true"])
async def test_a_body_that_is_not_an_object_is_bad_request(client: Client, raw: str) -> None:
    await problem(await send(client, "POST", FUNKOS, raw), 400)
    funko = await create(client)
    await problem(await send(client, "PATCH", f"{FUNKOS}/{funko['id']}", raw), 400)
    await problem(await send(client, "PUT", f"{FUNKOS}/{funko['id']}", raw), 400)


async def test_moderately_nested_value_names_the_field(client: Client) -> None:
    raw = with_raw_field(funko_fields(), "name", "[" * 500 + "]" * 500)
    await field_error(await send(client, "POST", FUNKOS, raw), "name")


async def test_empty_patch_is_bad_request(client: Client) -> None:
    funko = await create(client)
    await problem(await send(client, "PATCH", f"{FUNKOS}/{funko['id']}", {}), 400)
    assert await fetch(client, funko["id"]) == funko


def padded(size: int) -> bytes:
    """A valid Funko body of exactly ``size`` bytes (whitespace padding)."""
    body = json.dumps(funko_fields()).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


async def chunks(body: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_body_of_exactly_64_kib_is_accepted(client: Client) -> None:
    await body_of(await send(client, "POST", FUNKOS, padded(LIMIT)), 201)
    response = await client.post(FUNKOS, data=chunks(padded(LIMIT)), headers=JSON_ADMIN)
    await body_of(response, 201)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
async def test_body_over_64_kib_with_content_length_is_too_large(
    client: Client, method: str
) -> None:
    funko = await create(client)
    path = FUNKOS if method == "POST" else f"{FUNKOS}/{funko['id']}"
    for size in (LIMIT + 1, 1024 * 1024):
        await problem(await send(client, method, path, padded(size)), 413)
    assert await fetch(client, funko["id"]) == funko


async def test_chunked_body_over_64_kib_is_too_large(client: Client) -> None:
    for size in (LIMIT + 1, 1024 * 1024):
        response = await client.post(FUNKOS, data=chunks(padded(size)), headers=JSON_ADMIN)
        await problem(response, 413)
