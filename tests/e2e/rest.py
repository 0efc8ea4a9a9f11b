"""What the shop's staff send to the REST API through aiohttp's test client, and what they
must get back: bodies of an expected status, problems, field errors."""

import json
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from tests.support.shop import FUNKOS, decode, funko_fields
from tests.support.tokens import ADMIN

Client = TestClient[web.Request, web.Application]
Body = dict[str, Any] | list[Any] | str | bytes | None


async def send(
    client: Client,
    method: str,
    path: str,
    body: Body = None,
    headers: dict[str, str] | None = None,
) -> ClientResponse:
    """A request as an admin unless ``headers`` say otherwise; str/bytes bodies go as written."""
    all_headers = {**ADMIN, **(headers or {})}
    if body is None:
        return await client.request(method, path, headers=all_headers)
    # Prices read back as Decimal go out as floats: with 2 decimals the shortest repr is exact.
    data = body if isinstance(body, str | bytes) else json.dumps(body, default=float)
    all_headers.setdefault("Content-Type", "application/json")
    return await client.request(method, path, data=data, headers=all_headers)


async def body_of(response: ClientResponse, status: int) -> Any:
    """The JSON body of a response that must have ``status``."""
    text = await response.text()
    assert response.status == status, f"{response.status}: {text}"
    return decode(text)


async def create(client: Client, **overrides: Any) -> dict[str, Any]:
    """A new Funko, as the POST answered it."""
    response = await send(client, "POST", FUNKOS, funko_fields(**overrides))
    funko: dict[str, Any] = await body_of(response, 201)
    return funko


async def fetch(client: Client, funko_id: str) -> dict[str, Any]:
    """The Funko as GET answers it now (which must be 200)."""
    funko: dict[str, Any] = await body_of(await client.get(f"{FUNKOS}/{funko_id}"), 200)
    return funko


async def problem(response: ClientResponse, status: int) -> dict[str, Any]:
    """The problem+json body of an error response that must have ``status``."""
    text = await response.text()
    assert response.status == status, f"{response.status}: {text}"
    assert response.content_type == "application/problem+json", response.content_type
    document: dict[str, Any] = decode(text)
    assert {"type", "title", "status", "detail"} <= document.keys(), document
    assert document["status"] == status
    return document


async def field_error(response: ClientResponse, field: str) -> str:
    """The message a 400 problem gives for ``field`` (which it must name)."""
    document = await problem(response, 400)
    assert field in document.get("errors", {}), document
    message: str = document["errors"][field]
    assert message
    return message
