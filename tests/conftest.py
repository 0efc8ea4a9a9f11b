"""A throwaway database per test session, on DATABASE_URL's server or the embedded one."""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import uvloop

from domain.services import FunkoService
from infrastructure import bootstrap
from infrastructure.database import create_database, drop_database, embedded_url, migrate
from infrastructure.event_store import EventStore

STANDARD_LOOP = {"asyncio": asyncio.new_event_loop}
# run.py serve runs on uvloop: tests marked every_loop run on it as well.
EVERY_LOOP = {**STANDARD_LOOP, "uvloop": uvloop.new_event_loop}


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> object:
    return EVERY_LOOP if item.get_closest_marker("every_loop") else STANDARD_LOOP


@pytest.fixture(scope="session")
def server_url() -> str:
    return os.environ.get("DATABASE_URL") or embedded_url()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    url = asyncio.run(create_database(server_url, "funko_test"))
    asyncio.run(migrate(url))
    yield url
    asyncio.run(drop_database(server_url, url))


@pytest.fixture
async def running(database_url: str) -> AsyncIterator[bootstrap.Running]:
    """The service on the session's database, as a server builds it."""
    async with bootstrap.running(database_url, min_size=1, max_size=20) as parts:
        yield parts


@pytest.fixture
def pool(running: bootstrap.Running) -> asyncpg.Pool:
    return running.pool


@pytest.fixture
def store(running: bootstrap.Running) -> EventStore:
    return running.store


@pytest.fixture
def service(running: bootstrap.Running) -> FunkoService:
    return running.service
