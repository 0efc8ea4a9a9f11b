"""An app per test on the session's throwaway database, driven through aiohttp's test client."""

from collections.abc import Awaitable, Callable

import pytest
from pytest_aiohttp import AiohttpClient

from tests.e2e.rest import Client
from tests.support.apps import app_for

StartServer = Callable[..., Awaitable[Client]]


@pytest.fixture
def start_server(aiohttp_client: AiohttpClient, database_url: str) -> StartServer:
    """Starts one more server process-alike on the shared database; settings may be overridden."""

    async def start(allowed_origins: tuple[str, ...] = ()) -> Client:
        return await aiohttp_client(app_for(database_url, allowed_origins=allowed_origins))

    return start


@pytest.fixture
async def client(start_server: StartServer) -> Client:
    return await start_server()
