"""X-Min-Position on a server without a replica: every GET takes a position a write answered
and reflects it (the primary always does); a header that is not a position is 400 on every
read route, the WebSocket's upgrade included; writes ignore it. tests/replicas covers what it
changes with a replica."""

import pytest

from tests.e2e.rest import Client, create, problem, send
from tests.support.shop import CATEGORIES, EVENTS, FUNKOS
from tests.support.streams import SSE, WS
from tests.support.tokens import AUDITOR

HEADER = "X-Min-Position"
READS = (FUNKOS, CATEGORIES, EVENTS, SSE, WS)


@pytest.mark.parametrize("given", ["x", "-1", "1.5", "+5", "١", "9" * 20, "9" * 19])
@pytest.mark.parametrize("path", READS)
async def test_a_min_position_that_is_not_a_position_is_refused(
    client: Client, path: str, given: str
) -> None:
    response = await client.get(path, headers={HEADER: given, **AUDITOR})
    assert HEADER in (await problem(response, 400))["errors"]


async def test_a_min_position_sent_twice_is_refused(client: Client) -> None:
    response = await client.get(FUNKOS, headers=[(HEADER, "1"), (HEADER, "2")])
    assert HEADER in (await problem(response, 400))["errors"]


async def test_every_read_reflects_the_position_a_write_answered(client: Client) -> None:
    funko = await create(client, stock=3)
    response = await send(client, "PATCH", f"{FUNKOS}/{funko['id']}", {"stock": 4})
    position = response.headers["X-Log-Position"]
    at = {HEADER: position}
    read = await client.get(f"{FUNKOS}/{funko['id']}", headers=at)
    assert (read.status, (await read.json())["stock"]) == (200, 4)
    history = await client.get(f"{FUNKOS}/{funko['id']}/history", headers={**at, **AUDITOR})
    assert [e["version"] for e in (await history.json())["events"]] == [1, 2]
    events = await client.get(f"{EVENTS}?after={int(position) - 1}", headers={**at, **AUDITOR})
    assert [e["position"] for e in (await events.json())["events"]] == [int(position)]


async def test_a_position_not_reached_yet_is_read_from_the_primary_without_waiting_long(
    client: Client,
) -> None:
    response = await client.get(FUNKOS, headers={HEADER: str(2**62)})
    assert response.status == 200


async def test_writes_ignore_it(client: Client) -> None:
    response = await send(client, "POST", FUNKOS, {}, headers={HEADER: "not a position"})
    assert "name" in (await problem(response, 400))["errors"]  # the body's fault, not the header's


async def test_the_openapi_document_offers_it_on_every_read_of_the_data(client: Client) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    for path in ("/api/v1/funkos", "/api/v1/funkos/{id}", "/api/v1/events", "/ws/v1/funkos"):
        names = [p["name"] for p in document["paths"][path]["get"]["parameters"]]
        assert HEADER in names, path
    post = document["paths"]["/api/v1/funkos"]["post"]
    assert HEADER not in [p["name"] for p in post.get("parameters", [])]
