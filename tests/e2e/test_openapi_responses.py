"""Real responses of every kind fit what the OpenAPI document says of their operation."""

import json
from typing import Any
from uuid import uuid4

from tests.e2e.audit_kit import NDJSON
from tests.e2e.openapi_kit import (
    Document,
    check_response,
    component,
    conforms,
    fetch_document,
)
from tests.e2e.rest import Body, Client, create, send
from tests.support.shop import CATEGORIES, EVENTS, FUNKOS, funko_fields
from tests.support.tokens import AUDITOR, bearer
from tests.support.waiting import eventually
from web.keys import READER

ONE = "/api/v1/funkos/{id}"


async def checked(
    client: Client,
    document: Document,
    method: str,
    template: str,
    path: str,
    status: int,
    body: Body = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """Send as ``send`` does, expect ``status``, and check the response against the
    documentation of the operation at ``template``; the decoded body."""
    response = await send(client, method, path, body, headers)
    assert response.status == status, await response.text()
    return await check_response(document, method, template, response)


async def test_funko_responses_fit_the_document(client: Client) -> None:
    document = await fetch_document(client)
    created = await checked(client, document, "POST", FUNKOS, FUNKOS, 201, funko_fields())
    one = f"{FUNKOS}/{created['id']}"

    await checked(client, document, "GET", ONE, one, 200)
    await checked(client, document, "GET", ONE, one, 304, headers={"If-None-Match": '"1"'})
    await checked(client, document, "PUT", ONE, one, 200, funko_fields(image=None))
    await checked(client, document, "PATCH", ONE, one, 200, {"price": 24.5})
    page = f"{FUNKOS}?size=3&sortBy=price&direction=desc"
    assert (await checked(client, document, "GET", FUNKOS, page, 200))["content"]
    assert await checked(client, document, "GET", CATEGORIES, CATEGORIES, 200)
    await checked(client, document, "DELETE", ONE, one, 204)


async def test_problem_responses_fit_the_document(client: Client) -> None:
    document = await fetch_document(client)
    one = f"{FUNKOS}/{(await create(client))['id']}"
    unknown = f"{FUNKOS}/{uuid4()}"

    problem = await checked(client, document, "POST", FUNKOS, FUNKOS, 400, funko_fields(price=-1))
    assert "price" in problem["errors"]
    await checked(client, document, "POST", FUNKOS, FUNKOS, 400, "{not json")
    await checked(client, document, "POST", FUNKOS, FUNKOS, 413, "x" * (65 * 1024))
    await checked(client, document, "POST", FUNKOS, FUNKOS, 401, {}, {"Authorization": ""})
    await checked(client, document, "POST", FUNKOS, FUNKOS, 403, {}, AUDITOR)
    await checked(client, document, "PUT", ONE, one, 412, funko_fields(), {"If-Match": '"9"'})
    await checked(client, document, "PATCH", ONE, f"{FUNKOS}/not-a-uuid", 400, {"stock": 1})
    await checked(client, document, "DELETE", ONE, unknown, 404)
    await checked(client, document, "GET", FUNKOS, f"{FUNKOS}?size=0", 400)


async def test_auditor_responses_fit_the_document(client: Client) -> None:
    document = await fetch_document(client)
    funko = await create(client)
    history = f"{FUNKOS}/{funko['id']}/history"
    await send(client, "PATCH", f"{FUNKOS}/{funko['id']}", {"stock": 3})
    before = await client.app[READER].head() - 2
    at_version, page = f"{ONE}/history/{{version}}", f"{EVENTS}?after={before}&limit=5"

    await checked(client, document, "GET", f"{ONE}/history", history, 200, headers=AUDITOR)
    await checked(client, document, "GET", at_version, f"{history}/2", 200, headers=AUDITOR)
    await checked(client, document, "GET", at_version, f"{history}/0", 400, headers=AUDITOR)
    await checked(client, document, "GET", at_version, f"{history}/7", 404, headers=AUDITOR)
    assert len((await checked(client, document, "GET", EVENTS, page, 200))["events"]) >= 2
    ndjson = {**AUDITOR, "Accept": NDJSON}
    lines = await checked(
        client, document, "GET", EVENTS, f"{EVENTS}?after={before}", 200, headers=ndjson
    )
    assert len(lines) >= 2
    expired = bearer("auditor", ttl=-1)
    await checked(client, document, "GET", EVENTS, EVENTS, 401, headers=expired)


async def test_operations_and_docs_responses_fit_the_document(client: Client) -> None:
    document = await fetch_document(client)

    for path in ("/health", "/ready", "/api/openapi.json", "/api/docs", "/"):
        await checked(client, document, "GET", path, path, 200)
    if "/metrics" in document["paths"]:
        await checked(client, document, "GET", "/metrics", "/metrics", 200)
    asset = "/api/docs/{asset}"
    await checked(client, document, "GET", asset, "/api/docs/swagger-ui.css", 200)
    await checked(client, document, "GET", asset, "/api/docs/nothing.js", 404)
    await checked(client, document, "GET", "/static/{file}", "/static/dashboard.js", 200)
    await checked(client, document, "GET", "/static/{file}", "/static/nothing.js", 404)


async def test_stream_frames_and_refusals_fit_the_document(client: Client) -> None:
    document = await fetch_document(client)
    await create(client)
    reader = client.app[READER]
    head = await reader.head()
    # CAUGHT_UP comes at the reader's position: once it has read the create, the create is
    # replayed before it (else it would come live, after CAUGHT_UP, as the contract allows).
    await eventually(lambda: reader.position >= head, 5, "the reader reads the create")
    start = head - 1
    stream = "/ws/v1/funkos"

    await checked(client, document, "GET", stream, stream, 400)  # not an upgrade
    await checked(client, document, "GET", stream, f"{stream}?types=NOPE", 400)
    await checked(
        client,
        document,
        "GET",
        stream,
        stream,
        403,
        headers={
            "Origin": "https://elsewhere.example",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    socket = await client.ws_connect(f"{stream}?after={start}")
    frames = [json.loads(await socket.receive_str(timeout=5)) for _ in range(2)]
    await socket.close()

    conforms(document, frames[0], component("Envelope"))
    conforms(document, frames[1], component("CaughtUp"))
    assert frames[1]["type"] == "CAUGHT_UP"
