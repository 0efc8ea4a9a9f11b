"""Numbers in query strings are written plainly: ASCII digits (a sign only for negatives), and
prices in plain decimal notation; anything else is a 400 naming the parameter, never a guess.

Raw query strings on purpose: ``+`` arrives as a space, ``%2B`` as a plus sign.
"""

import asyncpg
import pytest

from infrastructure.envelopes import head
from tests.e2e.openapi_kit import fetch_document
from tests.e2e.rest import Client, create, field_error, problem
from tests.e2e.streams_kit import refused, upgrade_headers
from tests.support.shop import EVENTS, FUNKOS
from tests.support.streams import WS
from tests.support.tokens import AUDITOR

WHOLE = "must be a whole number written in digits"
# Spellings of small numbers that int() or Decimal() would take and the contract does not.
LENIENT_WHOLE = ["1_0", "+5", "%2B5", "5%20", "1.0"]
LENIENT_DECIMAL = ["1_0.5", "1e3", "1E2", "%2B1", "+1", ".5", "1.", "%D9%A1"]


@pytest.fixture
async def ten_events(client: Client, pool: asyncpg.Pool) -> None:
    """At least ten events in the log, so that 10 is a position the stream could resume after."""
    while await head(pool) < 10:
        await create(client)


@pytest.mark.parametrize("value", LENIENT_WHOLE)
@pytest.mark.parametrize("param", ["page", "size", "minStock"])
async def test_a_whole_number_in_the_catalog_query_is_ascii_digits_only(
    client: Client, param: str, value: str
) -> None:
    message = await field_error(await client.get(f"{FUNKOS}?{param}={value}"), param)
    assert message == WHOLE


@pytest.mark.parametrize("value", LENIENT_DECIMAL)
@pytest.mark.parametrize("param", ["minPrice", "maxPrice"])
async def test_a_price_bound_is_in_plain_decimal_notation(
    client: Client, param: str, value: str
) -> None:
    message = await field_error(await client.get(f"{FUNKOS}?{param}={value}"), param)
    assert "decimal" in message


async def test_plain_numbers_and_negatives_keep_their_meaning(client: Client) -> None:
    query = "page=0&size=007&minStock=0&minPrice=0.5&maxPrice=10"
    assert (await client.get(f"{FUNKOS}?{query}")).status == 200
    assert (await field_error(await client.get(f"{FUNKOS}?page=-1"), "page")) != WHOLE
    assert (await field_error(await client.get(f"{FUNKOS}?minPrice=-1.5"), "minPrice")) != WHOLE


@pytest.mark.usefixtures("ten_events")
@pytest.mark.parametrize("value", LENIENT_WHOLE)
async def test_the_stream_refuses_a_leniently_written_position_without_an_upgrade(
    client: Client, value: str
) -> None:
    path = f"{WS}?after={value}"
    await refused(client, path, 400)
    document = await problem(await client.get(path, headers=upgrade_headers()), 400)
    assert document["errors"] == {"after": WHOLE}


@pytest.mark.usefixtures("ten_events")
@pytest.mark.parametrize("value", LENIENT_WHOLE)
@pytest.mark.parametrize("param", ["after", "limit"])
async def test_the_event_log_refuses_leniently_written_numbers(
    client: Client, param: str, value: str
) -> None:
    response = await client.get(f"{EVENTS}?{param}={value}", headers=AUDITOR)
    assert await field_error(response, param) == WHOLE


async def test_the_document_still_states_the_bounds_of_every_query_number(
    client: Client,
) -> None:
    paths = (await fetch_document(client))["paths"]
    routes = [(FUNKOS, ["minStock", "page", "size"]), (EVENTS, ["after", "limit"]), (WS, ["after"])]
    for path, names in routes:
        schemas = {p["name"]: p["schema"] for p in paths[path]["get"]["parameters"]}
        for name in names:
            assert schemas[name]["type"] == "integer", (path, name)
            assert {"minimum", "maximum"} <= schemas[name].keys(), (path, name, schemas[name])
