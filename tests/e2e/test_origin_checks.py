"""The Origin check on every write route and on the WebSocket: the listed origins, as written.

With ALLOWED_ORIGINS unset only the server's own origin passes; once set, only those listed.
An origin differing in case, port or scheme is another origin. No Origin (not a browser) passes.
"""

from collections.abc import Callable

import pytest

from tests.e2e.conftest import StartServer
from tests.e2e.rest import Client, create, fetch, problem
from tests.e2e.security_kit import WRITES, Route, call, registered_routes, row_for
from tests.support.tokens import ADMIN

STREAM: Route = ("GET", "/ws/v1/funkos")
LISTED = ("https://shop.example", "http://localhost:3000")
# Each as a function of the server's own origin, http://127.0.0.1:<port>.
FOREIGN_BY_DEFAULT: dict[str, Callable[[str], str]] = {
    "another site": lambda _: "http://evil.example",
    "null": lambda _: "null",
    "another port": lambda own: own.rsplit(":", 1)[0] + ":1",
    "https": lambda own: own.replace("http://", "https://"),
    "upper-case scheme": lambda own: own.replace("http://", "HTTP://"),
    "own as a prefix": lambda own: own + ".evil.example",
    "userinfo": lambda own: own.replace("http://", "http://evil.example@"),
}
NOT_LISTED = {
    "upper-case host": "https://SHOP.example",
    "upper-case scheme": "HTTPS://shop.example",
    "http": "http://shop.example",
    "another port": "https://shop.example:8443",
    "listed as a prefix": "https://shop.example.evil.example",
    "a subdomain": "https://www.shop.example",
    "the port of the other": "http://localhost:3001",
    "null": "null",
}


async def answer(client: Client, route: Route, origin: str | None) -> int:
    """The status of a well-formed admin request of ``route`` from ``origin``; refusals
    must be problem+json and leave the Funko as it was."""
    funko = await create(client)
    headers = ADMIN if origin is None else {**ADMIN, "Origin": origin}
    response = await call(client, route, funko["id"], headers)
    status = response.status
    if status == 403:
        await problem(response, 403)
        assert await fetch(client, funko["id"]) == funko
    response.close()
    return status


async def answers(client: Client, origin: str | None) -> dict[Route, int]:
    """What every write route and the stream answer ``origin``, route by route."""
    guarded = [route for route in registered_routes() if route[0] in WRITES] + [STREAM]
    return {route: await answer(client, route, origin) for route in guarded}


def all_refused(answered: dict[Route, int]) -> dict[Route, int]:
    return dict.fromkeys(answered, 403)


def all_served(answered: dict[Route, int]) -> dict[Route, int]:
    return {route: row_for(route).success for route in answered}


@pytest.mark.parametrize("origin_of", FOREIGN_BY_DEFAULT.values(), ids=FOREIGN_BY_DEFAULT)
async def test_by_default_a_foreign_origin_may_neither_write_nor_subscribe(
    client: Client, origin_of: Callable[[str], str]
) -> None:
    answered = await answers(client, origin_of(f"http://{client.host}:{client.port}"))
    assert answered == all_refused(answered)


async def test_by_default_the_servers_own_origin_and_no_origin_may_do_everything(
    client: Client,
) -> None:
    for origin in (f"http://{client.host}:{client.port}", None):
        answered = await answers(client, origin)
        assert answered == all_served(answered)


async def test_each_listed_origin_may_write_and_subscribe(start_server: StartServer) -> None:
    client = await start_server(allowed_origins=LISTED)
    for origin in (*LISTED, None):
        answered = await answers(client, origin)
        assert answered == all_served(answered)


@pytest.mark.parametrize("origin", [*NOT_LISTED.values(), "own"], ids=[*NOT_LISTED, "own"])
async def test_an_origin_not_listed_exactly_may_neither_write_nor_subscribe(
    start_server: StartServer, origin: str
) -> None:
    client = await start_server(allowed_origins=LISTED)
    own = f"http://{client.host}:{client.port}"
    answered = await answers(client, own if origin == "own" else origin)
    assert answered == all_refused(answered)
