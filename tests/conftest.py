"""Fixtures every suite may use: the session's throwaway database (on DATABASE_URL's server or
the embedded one), a fresh one per test, and the service running on the session's."""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import uvloop

from domain.services import FunkoService
from infrastructure import bootstrap
from infrastructure.database import embedded_url
from infrastructure.event_store import EventStore
from tests.support import databases

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
    """A migrated database the whole session shares."""
    with databases.for_the_session(server_url) as url:
        yield url


@pytest.fixture
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """An empty database of the test's own (run.py serve and bootstrap migrate it)."""
    async with databases.throwaway(server_url, "fresh") as url:
        yield url


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
