"""Who may call each route, and a well-formed call of it: the table the security tests share.

Every route create_app registers must have a row here; the matrix fails for one that has not,
so a new route states who may call it before it ships.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientResponse

from tests.e2e.rest import Client
from tests.e2e.streams_kit import upgrade_headers
from tests.support.apps import app_for
from tests.support.shop import funko_fields, unique
from tests.support.tokens import ADMIN

Route = tuple[str, str]  # (method, path pattern as registered)
ANYONE: frozenset[str] = frozenset()
ADMINS = frozenset({"admin"})
AUDITORS = frozenset({"auditor", "admin"})
CONSUMERS = frozenset({"consumer", "admin"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Row:
    """Which roles may call a route (none: anyone, whatever token), and what success is."""

    roles: frozenset[str]
    success: int
    body: Callable[[], dict[str, Any]] | None = None
    upgrade: bool = False  # a WebSocket handshake
    endless: bool = False  # a stream that does not end: its body is not read


EXPECTED: dict[Route, Row] = {
    ("POST", "/api/v1/funkos"): Row(ADMINS, 201, body=funko_fields),
    ("PUT", "/api/v1/funkos/{id}"): Row(ADMINS, 200, body=funko_fields),
    ("PATCH", "/api/v1/funkos/{id}"): Row(ADMINS, 200, body=lambda: {"stock": 3}),
    ("DELETE", "/api/v1/funkos/{id}"): Row(ADMINS, 204),
    ("GET", "/api/v1/funkos"): Row(ANYONE, 200),
    ("GET", "/api/v1/funkos/{id}"): Row(ANYONE, 200),
    ("GET", "/api/v1/categories"): Row(ANYONE, 200),
    ("GET", "/api/v1/funkos/{id}/history"): Row(AUDITORS, 200),
    ("GET", "/api/v1/funkos/{id}/history/{version}"): Row(AUDITORS, 200),
    ("GET", "/api/v1/events"): Row(AUDITORS, 200),
    ("GET", "/ws/v1/funkos"): Row(ANYONE, 101, upgrade=True),
    ("HEAD", "/ws/v1/funkos"): Row(ANYONE, 400),  # HEAD is no upgrade
    ("GET", "/api/v1/stream"): Row(ANYONE, 200, endless=True),
    ("HEAD", "/api/v1/stream"): Row(ANYONE, 200),  # the stream's head, and no stream
    # {name} is always a group the call has just created with the default settings: a PUT of
    # the same settings again is 200.
    ("PUT", "/api/v1/groups/{name}"): Row(ADMINS, 200, body=dict),
    ("GET", "/api/v1/groups"): Row(ADMINS, 200),
    ("GET", "/api/v1/groups/{name}"): Row(ADMINS, 200),
    ("DELETE", "/api/v1/groups/{name}"): Row(ADMINS, 204),
    ("GET", "/api/v1/groups/{name}/parked"): Row(ADMINS, 200),
    # {position} is an event the call has just parked in that group.
    ("POST", "/api/v1/groups/{name}/parked/{position}/retry"): Row(ADMINS, 202),
    ("GET", "/ws/v1/groups/{name}"): Row(CONSUMERS, 101, upgrade=True),
    ("HEAD", "/ws/v1/groups/{name}"): Row(CONSUMERS, 400),  # HEAD is no upgrade
    ("GET", "/health"): Row(ANYONE, 200),
    ("GET", "/ready"): Row(ANYONE, 200),
    ("GET", "/metrics"): Row(ANYONE, 200),
    ("GET", "/api/openapi.json"): Row(ANYONE, 200),
    ("GET", "/api/docs"): Row(ANYONE, 200),
    ("GET", "/api/docs/{asset}"): Row(ANYONE, 200),
    ("GET", "/"): Row(ANYONE, 200),
    ("GET", "/static/{file}"): Row(ANYONE, 200),
}
# What fills a pattern's {…}; {id} is always a Funko the test has just created.
SAMPLES = {"version": "1", "asset": "swagger-ui.css", "file": "dashboard.js"}


def registered_routes() -> list[Route]:
    """Every (method, pattern) create_app registers; the app is built, never started."""
    app = app_for("postgresql://never-connected/")
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource}
    return sorted(routes, key=lambda route: (route[1], route[0]))


def row_for(route: Route) -> Row:
    """The route's row; a HEAD without one of its own answers as its GET."""
    method, pattern = route
    row = EXPECTED.get(route) or (EXPECTED.get(("GET", pattern)) if method == "HEAD" else None)
    if row is None:
        raise AssertionError(f"{method} {pattern} has no row in security_kit.EXPECTED")
    return row


async def call(
    client: Client, route: Route, funko_id: str | None, headers: dict[str, str]
) -> ClientResponse:
    """A well-formed request of ``route`` (on Funko ``funko_id``) with ``headers`` added."""
    method, pattern = route
    row = row_for(route)
    group = position = None
    if "{name}" in pattern:
        group = unique("group").lower()
        settings = {"maxAttempts": 1} if "{position}" in pattern else {}
        created = await client.put(f"/api/v1/groups/{group}", json=settings, headers=ADMIN)
        assert created.status == 201, await created.text()
    if "{position}" in pattern:
        position = await _parked(client, str(group))
    fill = {"id": funko_id, "name": group, "position": position}
    path = pattern.format(**SAMPLES, **fill) if "{" in pattern else pattern
    all_headers = {**(upgrade_headers() if row.upgrade else {}), **headers}
    body = row.body() if row.body else None
    return await client.request(method, path, json=body, headers=all_headers)


async def _parked(client: Client, group: str) -> int:
    """The position of an event parked in ``group`` (of one attempt) by a NACK."""
    created = await client.post("/api/v1/funkos", json=funko_fields(), headers=ADMIN)
    assert created.status == 201, await created.text()
    async with client.ws_connect(f"/ws/v1/groups/{group}", headers=ADMIN) as member:
        delivered = await member.receive_json(timeout=5)
        await member.send_json({"type": "NACK", "positions": [delivered["position"]]})
        for _ in range(100):
            parked = await (
                await client.get(f"/api/v1/groups/{group}/parked", headers=ADMIN)
            ).json()
            if parked["events"]:
                return int(parked["events"][0]["position"])
            await asyncio.sleep(0.05)
    raise AssertionError("the NACKed event was never parked")
