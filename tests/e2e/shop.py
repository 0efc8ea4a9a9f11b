"""What the shop's staff send to the REST API in the e2e tests: tokens, random Funkos, problems."""

import json
import re
from decimal import Decimal
from typing import Any
from uuid import uuid4

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from web.auth import issue_token

SECRET = "e2e-secret-" + "0123456789abcdef" * 4  # ≥ 64 bytes, or PyJWT warns (HS512 test)
FUNKOS = "/api/v1/funkos"
CATEGORIES = "/api/v1/categories"
RFC3339_MICROS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")

Client = TestClient[web.Request, web.Application]
Body = dict[str, Any] | list[Any] | str | bytes | None


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}-{uuid4().hex[:10]}"


def bearer(role: str = "admin", sub: str = "e2e-staff", ttl: int = 600) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, role, sub, ttl)}"}


ADMIN = bearer("admin")
AUDITOR = bearer("auditor", "e2e-auditor")


def funko_fields(**overrides: Any) -> dict[str, Any]:
    """A valid Funko body with a random name and category; ``overrides`` replace fields."""
    return {
        "name": unique("Funko"),
        "price": 19.99,
        "stock": 12,
        "image": "https://img.example/funko.png",
        "category": unique("cat"),
        **overrides,
    }


def decode(text: str) -> Any:
    """JSON with decimals kept exact, so float drift in a price shows."""
    return json.loads(text, parse_float=Decimal)


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
