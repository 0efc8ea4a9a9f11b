"""Who may write: bearer tokens and roles, and the Origin of browser writes."""

import asyncio
import time

import pytest

from tests.e2e.conftest import StartServer
from tests.e2e.rest import Client, body_of, create, fetch, problem, send
from tests.support.shop import CATEGORIES, FUNKOS, funko_fields
from tests.support.tokens import AUDITOR, SECRET, bearer, signed, unsigned_token

LATER = int(time.time()) + 3600
HOSTILE_SUBS = {  # JSON can carry each of these; none is a name to put in the log
    "with a lone surrogate": "caf\udce9",
    "with NUL": "nul\x00",
    "with an escape": "\x1b[31mred",
    "with a newline": "two\nlines",
    "over 255 characters": "x" * 256,
    "empty": "",
}
NUL_ADMIN = "admin\x00"
BAD_AUTHORIZATIONS = {
    "empty": "",
    "garbage": "Bearer not.a.token",
    "no scheme": signed({"sub": "x", "role": "admin", "exp": LATER}),
    "basic": "Basic YWRtaW46YWRtaW4=",
    "bearer alone": "Bearer ",
    "expired": f"Bearer {signed({'sub': 'x', 'role': 'admin', 'exp': int(time.time()) - 10})}",
    "wrong signature": f"Bearer {signed({'sub': 'x', 'role': 'admin', 'exp': LATER}, 'x' * 40)}",
    "alg none": f"Bearer {unsigned_token()}",
    "HS512": f"Bearer {signed({'sub': 'x', 'role': 'admin', 'exp': LATER}, SECRET, 'HS512')}",
    "no role": f"Bearer {signed({'sub': 'x', 'exp': LATER})}",
    "no sub": f"Bearer {signed({'role': 'admin', 'exp': LATER})}",
    "role not a string": f"Bearer {signed({'sub': 'x', 'role': ['admin'], 'exp': LATER})}",
    **{
        f"sub {name}": f"Bearer {signed({'sub': sub, 'role': 'admin', 'exp': LATER})}"
        for name, sub in HOSTILE_SUBS.items()
    },
    "role with NUL": f"Bearer {signed({'sub': 'x', 'role': NUL_ADMIN, 'exp': LATER})}",
    "exp as text": f"Bearer {signed({'sub': 'x', 'role': 'admin', 'exp': str(LATER)})}",
    "exp as true": f"Bearer {signed({'sub': 'x', 'role': 'admin', 'exp': True})}",
}


def _headers(authorization: str) -> dict[str, str]:
    # send() adds the admin token; an explicit value (even empty) replaces it.
    return {"Authorization": authorization}


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATIONS.values(), ids=BAD_AUTHORIZATIONS)
async def test_writes_without_a_valid_token_are_unauthorized(
    client: Client, authorization: str
) -> None:
    funko = await create(client)
    path = f"{FUNKOS}/{funko['id']}"
    headers = _headers(authorization)
    for method, target, body in [
        ("POST", FUNKOS, funko_fields()),
        ("PUT", path, funko_fields()),
        ("PATCH", path, {"stock": 0}),
        ("DELETE", path, None),
    ]:
        response = await send(client, method, target, body, headers)
        await problem(response, 401)
        assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert await fetch(client, funko["id"]) == funko


async def test_missing_authorization_header_is_unauthorized(client: Client) -> None:
    response = await client.post(FUNKOS, json=funko_fields())
    await problem(response, 401)


async def test_auditor_may_not_write(client: Client) -> None:
    funko = await create(client)
    path = f"{FUNKOS}/{funko['id']}"
    fields = funko_fields()
    await problem(await send(client, "POST", FUNKOS, fields, AUDITOR), 403)
    await problem(await send(client, "PUT", path, funko_fields(), AUDITOR), 403)
    await problem(await send(client, "PATCH", path, {"stock": 0}, AUDITOR), 403)
    await problem(await send(client, "DELETE", path, None, AUDITOR), 403)
    assert await fetch(client, funko["id"]) == funko
    page = await body_of(await client.get(FUNKOS, params={"name": fields["name"]}), 200)
    assert page["totalElements"] == 0


async def test_a_token_with_an_unknown_role_is_forbidden(client: Client) -> None:
    token = signed({"sub": "x", "role": "superuser", "exp": LATER})
    response = await send(client, "POST", FUNKOS, funko_fields(), _headers(f"Bearer {token}"))
    await problem(response, 403)


async def test_admin_may_write_with_a_lower_case_scheme(client: Client) -> None:
    token = bearer()["Authorization"].removeprefix("Bearer ")
    response = await send(client, "POST", FUNKOS, funko_fields(), _headers(f"bearer {token}"))
    await body_of(response, 201)


async def test_a_token_is_refused_once_it_expires(client: Client) -> None:
    exp = int(time.time()) + 2
    headers = _headers(f"Bearer {signed({'sub': 'x', 'role': 'admin', 'exp': exp})}")
    funko = await create(client)
    path = f"{FUNKOS}/{funko['id']}"
    await body_of(await send(client, "PATCH", path, {"stock": 1}, headers), 200)
    await asyncio.sleep(exp - time.time() + 0.2)
    await problem(await send(client, "PATCH", path, {"stock": 2}, headers), 401)
    assert (await fetch(client, funko["id"]))["stock"] == 1


async def test_reads_need_no_token(client: Client) -> None:
    funko = await create(client)
    assert (await client.get(f"{FUNKOS}/{funko['id']}")).status == 200
    assert (await client.get(FUNKOS)).status == 200
    assert (await client.get(CATEGORIES)).status == 200


async def test_write_from_a_foreign_origin_is_forbidden(client: Client) -> None:
    fields = funko_fields()
    for origin in ("http://evil.example", "null", f"http://evil.example:{client.port}"):
        response = await send(client, "POST", FUNKOS, fields, {"Origin": origin})
        await problem(response, 403)
    funko = await create(client)
    path = f"{FUNKOS}/{funko['id']}"
    evil = {"Origin": "http://evil.example"}
    await problem(await send(client, "PATCH", path, {"stock": 0}, evil), 403)
    await problem(await send(client, "DELETE", path, None, evil), 403)
    assert await fetch(client, funko["id"]) == funko
    page = await body_of(await client.get(FUNKOS, params={"name": fields["name"]}), 200)
    assert page["totalElements"] == 0


async def test_write_from_the_servers_own_origin_is_allowed(client: Client) -> None:
    origin = f"http://{client.host}:{client.port}"
    await body_of(await send(client, "POST", FUNKOS, funko_fields(), {"Origin": origin}), 201)


async def test_reads_from_a_foreign_origin_are_allowed(client: Client) -> None:
    response = await client.get(CATEGORIES, headers={"Origin": "http://evil.example"})
    assert response.status == 200


async def test_allowed_origins_replace_the_servers_own(start_server: StartServer) -> None:
    client = await start_server(allowed_origins=("https://shop.example",))
    shop = {"Origin": "https://shop.example"}
    await body_of(await send(client, "POST", FUNKOS, funko_fields(), shop), 201)
    own = {"Origin": f"http://{client.host}:{client.port}"}
    await problem(await send(client, "POST", FUNKOS, funko_fields(), own), 403)
