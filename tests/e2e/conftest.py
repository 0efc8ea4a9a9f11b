"""An app per test on the session's throwaway database, driven through aiohttp's test client."""

from collections.abc import Awaitable, Callable

import pytest
from pytest_aiohttp import AiohttpClient

from infrastructure.settings import Settings
from tests.e2e.shop import SECRET, Client
from web.app import create_app

StartServer = Callable[..., Awaitable[Client]]


@pytest.fixture
def start_server(aiohttp_client: AiohttpClient, database_url: str) -> StartServer:
    """Starts one more server process-alike on the shared database; settings may be overridden."""

    async def start(allowed_origins: tuple[str, ...] = ()) -> Client:
        settings = Settings(
            database_url=database_url, jwt_secret=SECRET, allowed_origins=allowed_origins
        )
        return await aiohttp_client(create_app(settings))

    return start


@pytest.fixture
async def client(start_server: StartServer) -> Client:
    return await start_server()
