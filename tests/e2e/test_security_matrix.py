"""Every registered route × every kind of credential: exactly the status API.md implies.

Protected routes answer 401 (problem+json, ``WWW-Authenticate: Bearer``) to anything but a
valid token and 403 to a valid token without the role; public ones answer the same to all.
One app serves the whole module, so the matrix stays quick; each test makes its own Funko.
"""

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict

from tests.e2e.rest import Client, body_of, create, fetch, problem
from tests.e2e.security_kit import WRITES, Route, call, registered_routes, row_for
from tests.support.apps import app_for
from tests.support.shop import EVENTS, FUNKOS, funko_fields
from tests.support.tokens import ADMIN, AUDITOR, as_bearer, signed, signed_bearer, unsigned_token

pytestmark = pytest.mark.asyncio(loop_scope="module")

CREDENTIALS: dict[str, dict[str, str]] = {
    "no token": {},
    "garbage": {"Authorization": "Bearer not.a.token"},
    "expired": signed_bearer("admin", ttl=-60),
    "wrong signature": signed_bearer("admin", secret="not-our-secret-" + "x" * 50),
    "alg none": {"Authorization": f"Bearer {unsigned_token('admin')}"},
    "role viewer": signed_bearer("viewer"),
    "role auditor": AUDITOR,
    "role consumer": signed_bearer("consumer"),
    "role admin": ADMIN,
}
ROLES = {
    "role viewer": "viewer",
    "role auditor": "auditor",
    "role consumer": "consumer",
    "role admin": "admin",
}
PROTECTED: dict[str, Route] = {"admin write": ("POST", FUNKOS), "auditor read": ("GET", EVENTS)}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if {"route", "credential"} <= set(metafunc.fixturenames):
        cells = [(route, name) for route in registered_routes() for name in CREDENTIALS]
        ids = [f"{method} {pattern} | {name}" for (method, pattern), name in cells]
        metafunc.parametrize(("route", "credential"), cells, ids=ids)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shop(database_url: str) -> AsyncIterator[Client]:
    app = app_for(database_url)
    async with TestClient(TestServer(app)) as client:
        yield client


def expected_status(route: Route, credential: str) -> int:
    row = row_for(route)
    if not row.roles:
        return row.success
    if credential not in ROLES:
        return 401
    return row.success if ROLES[credential] in row.roles else 403


async def check_refusal(response: ClientResponse, status: int) -> None:
    """A 401 or 403 is problem+json; a 401 names the scheme to use."""
    assert response.content_type == "application/problem+json", response.content_type
    if status == 401:
        assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), response.headers
    if response.method != "HEAD":
        await problem(response, status)


async def test_each_route_answers_each_credential_as_the_contract_says(
    shop: Client, route: Route, credential: str
) -> None:
    status = expected_status(route, credential)
    funko = await create(shop) if "{id}" in route[1] else None
    response = await call(shop, route, funko["id"] if funko else None, CREDENTIALS[credential])
    try:
        got = response.status
        endless = got == 101 or row_for(route).endless
        detail = "" if endless else await response.text()
        assert got == status, f"{route} with {credential}: {got} {detail}"
        if status in (401, 403):
            await check_refusal(response, status)
    finally:
        response.close()  # a 101 or an event stream leaves a stream open
    if status >= 400 and route[0] in WRITES and funko is not None:
        assert await fetch(shop, funko["id"]) == funko


def authorization(*values: str) -> CIMultiDict[str]:
    return CIMultiDict(("Authorization", value) for value in values)


ADMIN_TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")
MALFORMED = {
    "basic": authorization("Basic YWRtaW46YWRtaW4="),
    "bearer and nothing": authorization("Bearer"),
    "another scheme": authorization(f"Token {ADMIN_TOKEN}"),
    "no scheme": authorization(ADMIN_TOKEN),
    "two tokens": authorization(f"Bearer {ADMIN_TOKEN} {ADMIN_TOKEN}"),
    "two credentials": authorization(f"Bearer {ADMIN_TOKEN}, Bearer {ADMIN_TOKEN}"),
    "two headers": authorization(f"Bearer {ADMIN_TOKEN}", f"Bearer {ADMIN_TOKEN}"),
    "valid then garbage": authorization(f"Bearer {ADMIN_TOKEN}", "Bearer not.a.token"),
}


async def ask(shop: Client, route: Route, headers: Any) -> ClientResponse:
    method, path = route
    body = funko_fields() if method == "POST" else None
    return await shop.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("route", PROTECTED.values(), ids=PROTECTED)
@pytest.mark.parametrize("headers", MALFORMED.values(), ids=MALFORMED)
async def test_a_malformed_authorization_is_unauthorized(
    shop: Client, route: Route, headers: CIMultiDict[str]
) -> None:
    await check_refusal(await ask(shop, route, headers), 401)


def token(**claims: Any) -> dict[str, str]:
    return as_bearer(signed(claims))


@pytest.mark.parametrize("route", PROTECTED.values(), ids=PROTECTED)
@pytest.mark.parametrize("missing", ["exp", "sub", "role"])
async def test_a_token_missing_a_claim_is_unauthorized(
    shop: Client, route: Route, missing: str
) -> None:
    claims = {"sub": "e2e-staff", "role": "admin", "exp": int(time.time()) + 600}
    await body_of(await ask(shop, route, token(**claims)), 201 if route[0] == "POST" else 200)
    del claims[missing]
    await check_refusal(await ask(shop, route, token(**claims)), 401)


@pytest.mark.parametrize("route", PROTECTED.values(), ids=PROTECTED)
async def test_a_well_signed_token_one_second_past_its_expiry_is_unauthorized(
    shop: Client, route: Route
) -> None:
    expired = token(sub="e2e-staff", role="admin", exp=int(time.time()) - 1)
    response = await ask(shop, route, expired)
    await check_refusal(response, 401)
    assert "expired" in (await response.json())["detail"]
