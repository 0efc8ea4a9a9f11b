"""The e2e suite's side of the stream: servers with stream settings overridden, a history
written through REST, and handshakes the stream refuses."""

import asyncio
import base64
import os
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError
from pytest_aiohttp import AiohttpClient

from tests.e2e.rest import Client, body_of, create, problem, send
from tests.support.apps import app_for
from tests.support.shop import FUNKOS


async def serve(aiohttp_client: AiohttpClient, database_url: str, **settings: Any) -> Client:
    """A server on the session's database, with stream settings (ws_buffer, …) overridden."""
    return await aiohttp_client(app_for(database_url, **settings))


async def write_history(client: Client, changes: int, pace: float = 0.0) -> str:
    """Through REST: one new Funko, ``changes`` PATCHes, then its DELETE; returns its id."""
    funko_id: str = (await create(client, stock=0))["id"]
    for stock in range(1, changes + 1):
        await body_of(await send(client, "PATCH", f"{FUNKOS}/{funko_id}", {"stock": stock}), 200)
        await asyncio.sleep(pace)
    response = await send(client, "DELETE", f"{FUNKOS}/{funko_id}")
    assert response.status == 204, await response.text()
    return funko_id


def upgrade_headers(**extra: str) -> dict[str, str]:
    """What a browser sends to open a WebSocket."""
    return {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        **extra,
    }


async def refused(client: Client, path: str, status: int, **headers: str) -> None:
    """``path`` gets ``status`` as problem+json, both to a handshake and to aiohttp's client."""
    await problem(await client.get(path, headers=upgrade_headers(**headers)), status)
    origin = headers.get("Origin")
    with pytest.raises(WSServerHandshakeError) as refusal:
        await client.ws_connect(path, origin=origin)
    assert refusal.value.status == status
