"""Fixtures of the fault tests: servers as processes, and a PostgreSQL of their own to stop."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.private_postgres import PrivatePostgres
from tests.support import databases
from tests.support.servers import ServerProcess, Servers

StartServer = Callable[..., Awaitable[ServerProcess]]


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[StartServer]:
    """Starts servers (``start(database_url, **env)``); any still running at the end is killed,
    and every server's log is printed (pytest shows it when the test fails)."""
    started = Servers(tmp_path)
    yield started.start
    await started.stop()
    print(started.tails())


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A cluster for this module alone (initdb takes a second); running as each test starts."""
    cluster = PrivatePostgres()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
async def stoppable_database(private_postgres: PrivatePostgres) -> AsyncIterator[str]:
    """A fresh database on the private cluster, which the test may stop and start."""
    private_postgres.ensure_running()
    async with databases.throwaway(private_postgres.url, "faults") as url:
        yield url
        private_postgres.ensure_running()
